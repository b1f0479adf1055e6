# The golden-cpu-empresa image with dockerTools, from image/spec.toml (one description for both
# builders): the config is lib.imageConfig (image/nix/config.nix); the tools are the spec's
# [base].packages taken from nixpkgs; the environment is poetry.lock's (image/nix/python-env.nix),
# at the spec's venv path; DSDL's layout and the image's own files are written by the same code as
# image/build's (image/nix/golden-files.py -> goldenimage.build._golden_files).
#
# Returns the arguments of dockerTools.buildLayeredImage / streamLayeredImage.
{
  lib,
  pkgs,
  spec,
  root,
  config,
  venv,
  python,
  revision,
  epoch,
}:
let
  inherit (pkgs) dockerTools;

  # Debian's package names in [base].packages -> what provides the same in nixpkgs. A package
  # added to the spec without an entry here stops the evaluation (nothing is left out silently).
  fromDebian = {
    python3 = [ python ];
    python3-venv = [ ]; # venv is part of nixpkgs' CPython
    ca-certificates = [ dockerTools.caCertificates ];
    openssl = [ pkgs.openssl ];
    tini = [ pkgs.tini ];
    procps = [ pkgs.procps ];
    git = [ pkgs.git ];
  };
  basePackages = lib.concatMap (
    name: fromDebian.${name} or (throw "image/nix/image.nix: no nixpkgs package for [base] package ${name}")
  ) spec.base.packages;

  # What Debian's minbase brings and the bootstrap uses (sh, cp, find, grep, id, tr, ...).
  tools = pkgs.buildEnv {
    name = "${spec.name}-tools";
    paths = basePackages ++ [
      pkgs.bashInteractive
      pkgs.coreutils
      pkgs.findutils
      pkgs.gnugrep
      pkgs.gnused
    ];
    pathsToLink = [ "/bin" ];
  };

  # /etc/passwd and /etc/group with root and nobody; golden-files.py adds the dltk user.
  nss = dockerTools.fakeNss;

  # The repository files goldenimage.build._golden_files reads.
  source = lib.fileset.toSource {
    inherit root;
    fileset = lib.fileset.unions [
      (root + "/pyproject.toml")
      (root + "/image/spec.toml")
      (root + "/image/goldenimage")
      (root + "/image/rootfs")
      (root + "/template")
    ];
  };

  userTrees = map (lib.removePrefix "/") [
    spec.layout.dltk
    spec.layout.srv
  ];
in
{
  inherit (spec) name;
  tag = spec.version;
  inherit config;
  created = config.Labels."org.opencontainers.image.created";
  mtime = config.Labels."org.opencontainers.image.created";
  contents = [
    tools
    dockerTools.binSh
    dockerTools.caCertificates
    nss
  ];
  # `contents` arrive as symlinks into the read-only store: what the container writes, or what
  # needs its own owner or mode, is made a real file here.
  extraCommands = ''
    rm -f etc/passwd etc/group
    cat ${nss}/etc/passwd > etc/passwd
    cat ${nss}/etc/group > etc/group
    mkdir -p tmp usr/bin "$(dirname ${lib.removePrefix "/" spec.python.venv})"
    ln -s ${venv} ${lib.removePrefix "/" spec.python.venv}
    for tool in bin/*; do
      ln -s "/$tool" "usr/$tool"   # /usr/bin/tini (the entrypoint), /usr/bin/python3, /usr/bin/env
    done
    PYTHONDONTWRITEBYTECODE=1 ${venv}/bin/python ${./golden-files.py} ${source} . \
      ${lib.escapeShellArg revision} ${toString epoch}
    chmod -R u+w ${lib.escapeShellArgs userTrees}   # copied from the store: read-only until here
    chmod 1777 tmp
  '';
  # As goldenimage.layers writes /dltk and /srv: owned by 1001:0, the group's permissions equal to
  # the user's (OpenShift runs an arbitrary user id in group 0).
  fakeRootCommands = ''
    chown -R ${spec.config.user} ${lib.escapeShellArgs userTrees}
    chmod -R g=u ${lib.escapeShellArgs userTrees}
  '';
}
