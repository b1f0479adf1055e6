# Seconds since 1970 (SOURCE_DATE_EPOCH, a flake's lastModified) as the RFC 3339 UTC time an image
# says it was created: "YYYY-MM-DDTHH:MM:SSZ", what goldenimage.oci.created writes.
# Nix has no date builtins; this is Howard Hinnant's civil_from_days, in builtins only so that
# image/nix/config.nix stays evaluable without nixpkgs (Debian's Nix 2.8 in CI).
epoch:
let
  inherit (builtins) div;
  mod = a: b: a - b * (div a b);
  pad = n: if n < 10 then "0${toString n}" else toString n;
  days = div epoch 86400;
  seconds = mod epoch 86400;
  z = days + 719468;
  era = div z 146097;
  dayOfEra = z - era * 146097;
  yearOfEra = div (dayOfEra - div dayOfEra 1460 + div dayOfEra 36524 - div dayOfEra 146096) 365;
  dayOfYear = dayOfEra - (365 * yearOfEra + div yearOfEra 4 - div yearOfEra 100);
  shiftedMonth = div (5 * dayOfYear + 2) 153; # 0 = March, so that February's leap day comes last
  day = dayOfYear - div (153 * shiftedMonth + 2) 5 + 1;
  month = if shiftedMonth < 10 then shiftedMonth + 3 else shiftedMonth - 9;
  year = yearOfEra + era * 400 + (if month <= 2 then 1 else 0);
in
assert builtins.isInt epoch && epoch >= 0;
"${toString year}-${pad month}-${pad day}T${pad (div seconds 3600)}:${pad (mod (div seconds 60) 60)}:${pad (mod seconds 60)}Z"
