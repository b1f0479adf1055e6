# The image's Python environment: the locked packages (image/nix/poetry-lock.nix) and dsdl_golden
# itself, built with pyproject.nix's build infrastructure and joined in one virtual environment.
# Mirrors goldenimage.pyenv: the spec's extras, its pruned directories (packages' test suites),
# bytecode compiled with hash-based invalidation (nothing depends on the time of the build).
{
  lib,
  pkgs,
  pyproject-nix,
  pyproject-build-systems,
  spec,
  root,
}:
let
  # Debian bookworm's CPython is 3.11 (spec [python].platform); nixpkgs' 3.11 is the same minor.
  python = pkgs.python311;
  settings = spec.python;
  sitePackages = python.sitePackages;

  lockPackages = import ./poetry-lock.nix {
    inherit lib pyproject-nix python;
    lockFile = root + "/poetry.lock";
    inherit (settings) platform extras;
    extraAttrs.postInstall = prune + compile;
  };

  # What goldenimage.pyenv.prune removes: directories with one of these names anywhere in
  # site-packages, and the listed paths below it.
  prune =
    lib.concatMapStrings (name: ''
      find "$out/${sitePackages}" -depth -type d -name ${lib.escapeShellArg name} -exec rm -rf {} +
    '') (settings.prune_directories_named or [ ])
    + lib.concatMapStrings (path: ''
      rm -rf "$out/${sitePackages}/"${lib.escapeShellArg path}
    '') (settings.prune or [ ]);
  # Files a package ships for other Python versions do not compile: compileall exits 1, accepted.
  compile = ''
    if [ -d "$out/${sitePackages}" ]; then
      ${python.interpreter} -m compileall -f -qq -j "$NIX_BUILD_CORES" \
        --invalidation-mode unchecked-hash "$out/${sitePackages}" || [ $? -eq 1 ]
    fi
  '';

  # dsdl_golden from this repository (poetry-core), only the files its wheel is made of.
  dsdlGolden =
    final:
    final.callPackage (
      {
        stdenv,
        pyprojectHook,
        resolveBuildSystem,
      }:
      stdenv.mkDerivation {
        pname = "dsdl-golden";
        inherit (spec) version;
        src = lib.fileset.toSource {
          inherit root;
          fileset = lib.fileset.unions [
            (root + "/pyproject.toml")
            (root + "/README.md")
            (root + "/helpers")
          ];
        };
        nativeBuildInputs = [ pyprojectHook ] ++ resolveBuildSystem { poetry-core = [ ]; };
        postInstall = compile;
        passthru = {
          dependencies = { };
          optional-dependencies = { };
        };
      }
    ) { };

  pythonSet = (pkgs.callPackage pyproject-nix.build.packages { inherit python; }).overrideScope (
    lib.composeManyExtensions [
      pyproject-build-systems.overlays.wheel # setuptools, wheel, poetry-core for the builds above
      lockPackages.overlay
      (final: _prev: { dsdl-golden = dsdlGolden final; })
    ]
  );
in
{
  inherit python pythonSet;
  inherit (lockPackages) selection;
  venv = pythonSet.mkVirtualEnv "${spec.name}-env-${spec.version}" (
    lib.mapAttrs (_: _: [ ]) lockPackages.selection // { dsdl-golden = [ ]; }
  );
}
