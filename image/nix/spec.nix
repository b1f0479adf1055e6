# image/spec.toml, the one description of the image, as both builders read it: the TOML document,
# plus the version, which is the project's ([project].version of pyproject.toml), as in
# goldenimage.spec.load_spec. Builtins only (evaluable by Debian's Nix 2.8).
root:
let
  raw = builtins.fromTOML (builtins.readFile (root + "/image/spec.toml"));
  version = (builtins.fromTOML (builtins.readFile (root + "/pyproject.toml"))).project.version;
  lastLayer = builtins.elemAt raw.layers (builtins.length raw.layers - 1);
in
# The same rule load_spec enforces: the last layer takes every remaining path.
assert lastLayer.paths == [ "*" ] && !(lastLayer ? not_paths);
raw
// {
  inherit version;
  inherit (raw.image) name;
  reference = "${raw.image.name}:${version}";
}
