# The image's OCI config section (User, WorkingDir, Entrypoint, Env, ExposedPorts, Volumes,
# StopSignal, Healthcheck, Labels), derived from image/spec.toml exactly as
# goldenimage.oci.image_config writes it for the daemonless image. Pure: builtins only, so Debian's Nix 2.8 evaluates it in CI without
# nixpkgs (tests/image/test_nix.py compares it with the Python builder field by field).
#
#   spec      image/nix/spec.nix of the repository root
#   revision  the git revision, "<rev>+dirty" for a tree with uncommitted changes
#   epoch     the last commit's time (SOURCE_DATE_EPOCH)
{
  spec,
  revision,
  epoch,
}:
let
  settings = spec.config;
  created = import ./time.nix epoch;
  toAttrs = names: builtins.listToAttrs (map (name: { inherit name; value = { }; }) names);
in
{
  User = settings.user;
  WorkingDir = settings.workdir;
  Entrypoint = settings.entrypoint;
  # fromTOML gives an attribute set, so the list is in name order (oci.py keeps the file's order;
  # the environment is the same, see tests/image/test_nix.py).
  Env = map (name: "${name}=${settings.env.${name}}") (builtins.attrNames settings.env);
  ExposedPorts = toAttrs (map (port: "${toString port}/tcp") settings.ports);
  Volumes = toAttrs settings.volumes;
  StopSignal = settings.stop_signal;
  Healthcheck = let
    check = settings.healthcheck;
    seconds = 1000000000;
  in
  {
    Test = check.test;
    Interval = check.interval_seconds * seconds;
    Timeout = check.timeout_seconds * seconds;
    StartPeriod = check.start_period_seconds * seconds;
    Retries = check.retries;
  };
  Labels = {
    "org.opencontainers.image.title" = spec.image.title;
    "org.opencontainers.image.description" = spec.image.description;
    "org.opencontainers.image.version" = spec.version;
    "org.opencontainers.image.revision" = revision;
    "org.opencontainers.image.created" = created;
    "org.opencontainers.image.licenses" = spec.image.licenses;
    "org.opencontainers.image.ref.name" = spec.reference;
  };
}
