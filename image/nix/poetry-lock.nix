# poetry.lock -> the files the image installs, and a pyproject.nix build overlay with one derivation
# per locked package (the in-repo lock adapter of ../shared/specs/nix-image.md §1.6).
#
# The same selection as goldenimage.requirements.locked_files: the `main` group; a package's
# `markers` (one string, or one per group: the `main` one) evaluated for the image's platform
# (spec.toml [python].platform) with the spec's extras; per package one wheel for the interpreter
# (pyproject.nix pypa.selectWheels), the sdist only when there is no wheel (splunk-sdk). Poetry's
# lock names no URLs: PyPI files come from PyPI's stable file-host paths, files of an explicit
# source (the PyTorch CPU index) from that source's URL; every file is checked against the lock's
# sha256 by fetchurl. Dependencies are not propagated: the lock's selection is already the whole
# environment (the daemonless builder installs it with --no-deps too).
{
  lib,
  pyproject-nix,
  lockFile,
  python,
  platform,
  extras,
  extraAttrs ? { },
}:
let
  inherit (pyproject-nix.lib) pep508 pypa;
  lock = builtins.fromTOML (builtins.readFile lockFile);
  environ = pep508.setEnviron (pep508.mkEnviron python) (platform // { extra = extras; });
  system = lib.systems.elaborate python.stdenv.hostPlatform.system;

  markersHold =
    markers:
    let
      text = if builtins.isString markers then markers else markers.main or null;
    in
    text == null || pep508.evalMarkers environ (pep508.parseMarkers text);
  wanted = package: builtins.elem "main" (package.groups or [ "main" ]) && markersHold (package.markers or null);

  sha256Of = entry: lib.removePrefix "sha256:" entry.hash;
  firstLetter = name: builtins.substring 0 1 name;
  # The wheel's python tag ("cp311", "py3", "py2.py3"): PyPI's file host files wheels under it.
  pythonTag =
    filename:
    let
      parts = lib.splitString "-" (lib.removeSuffix ".whl" filename);
    in
    builtins.elemAt parts (builtins.length parts - 3);
  urlOf =
    package: filename:
    if package ? source then
      "${lib.removeSuffix "/" package.source.url}/${builtins.replaceStrings [ "+" ] [ "%2B" ] filename}"
    else if pypa.isWheelFileName filename then
      "https://files.pythonhosted.org/packages/${pythonTag filename}/${firstLetter package.name}/${package.name}/${filename}"
    else
      "https://files.pythonhosted.org/packages/source/${firstLetter package.name}/${package.name}/${filename}";

  abiRank =
    wheel:
    if builtins.elem "cp${builtins.replaceStrings [ "." ] [ "" ] python.passthru.pythonVersion}" wheel.abiTags then
      2
    else if builtins.elem "abi3" wheel.abiTags then
      1
    else
      0;
  # glibc minor version of a platform tag: manylinux_2_34_x86_64 -> 34, manylinux2014 -> 17, any -> 0.
  glibcOf =
    tag:
    let
      pep600 = builtins.match "manylinux_2_([0-9]+)_.*" tag;
      legacy = {
        manylinux2014 = 17;
        manylinux2010 = 12;
        manylinux1 = 5;
      };
      prefix = builtins.head (lib.splitString "_" tag);
    in
    if pep600 != null then
      lib.toInt (builtins.head pep600)
    else
      legacy.${prefix} or (if prefix == "linux" then 1 else 0);
  rank = wheel: abiRank wheel * 1000 + lib.foldl' lib.max 0 (map glibcOf wheel.platformTags);

  chooseFile =
    package:
    let
      byName = lib.listToAttrs (map (entry: lib.nameValuePair entry.file entry) package.files);
      wheels = map (entry: pypa.parseWheelFileName entry.file) (
        builtins.filter (entry: pypa.isWheelFileName entry.file) package.files
      );
      # selectWheels keeps the wheels this interpreter and glibc can run, best language tag first;
      # among them, as pip and goldenimage.requirements rank tags: the interpreter's own ABI
      # (cp311) before abi3 before none, then the newest manylinux before older ones and `any`.
      compatible = lib.sort (a: b: rank a > rank b) (pypa.selectWheels system python wheels);
      sdists = builtins.filter (entry: pypa.isSdistFileName entry.file) package.files;
      entry =
        if compatible != [ ] then
          byName.${(builtins.head compatible).filename}
        else if sdists != [ ] then
          builtins.head sdists
        else
          throw "poetry.lock: ${package.name} ${package.version} has no wheel for ${python.name} and no sdist";
    in
    {
      name = pypa.normalizePackageName package.name;
      inherit (package) version;
      filename = entry.file;
      sha256 = sha256Of entry;
      url = urlOf package entry.file;
      isWheel = pypa.isWheelFileName entry.file;
    };

  # name -> { name, version, filename, sha256, url, isWheel }
  selection = lib.listToAttrs (
    map (package: lib.nameValuePair (pypa.normalizePackageName package.name) (chooseFile package)) (
      builtins.filter wanted lock.package
    )
  );

  mkPackage =
    file:
    {
      stdenv,
      fetchurl,
      pyprojectHook,
      pyprojectWheelHook,
      resolveBuildSystem,
      autoPatchelfHook,
      pythonManylinuxPackages,
    }:
    stdenv.mkDerivation (
      {
        pname = file.name;
        inherit (file) version;
        src = fetchurl {
          inherit (file) url sha256;
          name = file.filename; # the URL's %2B is not allowed in a store path name
        };
        # Wheels: installed as they are, their ELF files pointed at nixpkgs' libraries (the
        # manylinux2014 set: glibc, libstdc++, zlib, ...); sdists: built with setuptools.
        nativeBuildInputs =
          if file.isWheel then
            [
              pyprojectWheelHook
              autoPatchelfHook
            ]
          else
            [ pyprojectHook ] ++ resolveBuildSystem { setuptools = [ ]; wheel = [ ]; };
        buildInputs = lib.optionals file.isWheel pythonManylinuxPackages.manylinux2014;
        dontStrip = file.isWheel; # stripping breaks some vendored libraries of binary wheels
        passthru = {
          dependencies = { };
          optional-dependencies = { };
          inherit (file) filename sha256;
        };
      }
      // extraAttrs
    );
in
{
  inherit selection;
  overlay = final: _prev: lib.mapAttrs (_: file: final.callPackage (mkPackage file) { }) selection;
}
