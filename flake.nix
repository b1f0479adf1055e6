{
  description = "dsdl-golden: the golden-cpu-empresa image for Splunk DSDL, built by Nix from image/spec.toml and poetry.lock";

  # Every input is pinned by flake.lock. nixpkgs, pyproject.nix and uv2nix are the revisions
  # build-system-pkgs locks and tests together (uv2nix only reads build-system-pkgs' own lock).
  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    pyproject-nix = {
      url = "github:pyproject-nix/pyproject.nix";
      inputs.nixpkgs.follows = "nixpkgs";
    };
    uv2nix = {
      url = "github:pyproject-nix/uv2nix";
      inputs.pyproject-nix.follows = "pyproject-nix";
      inputs.nixpkgs.follows = "nixpkgs";
    };
    pyproject-build-systems = {
      url = "github:pyproject-nix/build-system-pkgs";
      inputs.pyproject-nix.follows = "pyproject-nix";
      inputs.uv2nix.follows = "uv2nix";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs =
    {
      self,
      nixpkgs,
      pyproject-nix,
      pyproject-build-systems,
      ...
    }:
    let
      system = "x86_64-linux"; # the image is linux/amd64 (tensorflow-cpu, torch CPU wheels)
      spec = import ./image/nix/spec.nix ./.;
      # As image/build: the commit's time, and its revision ("+dirty" with uncommitted changes).
      epoch = self.lastModified or 0;
      revision = self.rev or (builtins.replaceStrings [ "-dirty" ] [ "+dirty" ] (self.dirtyRev or "dirty"));
      imageConfig = import ./image/nix/config.nix { inherit spec revision epoch; };

      pkgs = nixpkgs.legacyPackages.${system};
      inherit (nixpkgs) lib;
      pythonEnv = import ./image/nix/python-env.nix {
        inherit lib pkgs pyproject-nix pyproject-build-systems spec;
        root = ./.;
      };
      imageArgs = import ./image/nix/image.nix {
        inherit lib pkgs spec revision epoch;
        inherit (pythonEnv) venv python;
        root = ./.;
        config = imageConfig;
      };
      image = pkgs.dockerTools.buildLayeredImage imageArgs;
    in
    {
      # Pure (builtins only): tests/image/test_nix.py evaluates it with Debian's Nix 2.8.
      lib = { inherit imageConfig; };

      packages.${system} = {
        inherit image;
        default = image;
        imageStream = pkgs.dockerTools.streamLayeredImage imageArgs;
        inherit (pythonEnv) venv;
        inherit (pkgs) skopeo; # CI inspects and pushes with the pinned skopeo
      };

      devShells.${system}.default = pkgs.mkShell {
        packages = [
          pythonEnv.python
          pkgs.poetry
          pkgs.buildah
          pkgs.skopeo
          pkgs.ruff
          pkgs.mypy
          pkgs.nixfmt
        ];
        # ./dev builds .venv from poetry.lock with this interpreter.
        shellHook = ''
          export GOLDEN_PYTHON=${pythonEnv.python.interpreter}
        '';
      };

      checks.${system} = {
        # The image's config is lib.imageConfig; /dltk, /srv, /etc/passwd, /tmp as DSDL expects.
        image-contract =
          pkgs.runCommand "image-contract"
            {
              nativeBuildInputs = [ pkgs.python311 ];
              expected = builtins.toJSON imageConfig;
              passAsFile = [ "expected" ];
            }
            ''
              python3 ${./image/nix/check-image.py} ${image} "$expectedPath" ${./image/spec.toml}
              touch $out
            '';
        # Every seed library imports from the environment (as image/test checks in the container).
        venv-imports = pkgs.runCommand "venv-imports" { } ''
          ${pythonEnv.venv}/bin/python -c 'import dsdl_golden.runtime, numpy, pandas, sklearn, scipy, statsmodels, aeon, torch, tensorflow, keras, mlflow, jupyterlab, splunklib'
          touch $out
        '';
      };

      formatter.${system} = pkgs.nixfmt;
    };
}
