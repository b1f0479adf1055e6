#!/bin/sh
# The image's entrypoint (under tini): DSDL's bootstrap_fast.sh behaviour (dsdl-contract.md §1.4).
#   1. back up /srv/notebooks once per image version (DSDL's bootstrap_backup.sh);
#   2. refresh /srv/app from /dltk/app and /srv/notebooks from /dltk/notebooks, keeping the user's
#      files: DSDL copies over them, dsdl_golden.refresh copies only what is missing, what the image
#      installed and nobody changed, and DSDL's entry points (main.py, __init__.py), and says what it kept;
#   3. give an arbitrary user id a passwd entry (OpenShift, DSDL's Kubernetes mode);
#   3b. trust corporate CAs with no rebuild: every *.pem and *.crt mounted in /etc/golden/ca-certificates
#      and the PEM files GOLDEN_EXTRA_CA_CERTS names (space separated), with the system's CAs, for Python's
#      ssl, urllib3, requests, pip and splunk-sdk (SSL_CERT_FILE, REQUESTS_CA_BUNDLE, PIP_CERT);
#   4. TLS for the API and Jupyter unless ENABLE_HTTPS is false: a key and certificate made here at the
#      first start (no key is in the image) unless mounted at /dltk/.jupyter/dltk.{key,pem} or given
#      by API_SSL_KEY / API_SSL_CERT;
#   5. PROD (default): the model API on 5000; DEV: JupyterLab 8888, TensorBoard 6006, MLflow UI 6000 too.
set -eu
export LC_ALL=C.UTF-8 LANG=C.UTF-8 HOME=/dltk
umask 002
cd /srv

version=$(cat /etc/golden/version)
if [ -d /srv/notebooks ] && [ "$(cat /srv/version.md 2>/dev/null || true)" != "$version" ]; then
    if [ ! -e "/srv/notebooks_backup_$version" ]; then
        cp -r /srv/notebooks "/srv/notebooks_backup_$version"
        echo "bootstrap: notebooks backed up to /srv/notebooks_backup_$version"
    fi
fi
echo "$version" > /srv/version.md

find /srv/app -type d -name __pycache__ -prune -exec rm -rf {} + 2>/dev/null || true
python3 -m dsdl_golden.refresh /dltk/app /srv/app --always main.py --always __init__.py
python3 -m dsdl_golden.refresh /dltk/notebooks /srv/notebooks

uid=$(id -u)
if [ -w /etc/passwd ] && ! grep -q "^[^:]*:[^:]*:$uid:" /etc/passwd; then
    echo "dltk:x:$uid:0:dltk user:/dltk:/sbin/nologin" >> /etc/passwd
fi

extra_cas=$(find /etc/golden/ca-certificates -maxdepth 1 \( -name '*.pem' -o -name '*.crt' \) 2>/dev/null | sort)
for ca in ${GOLDEN_EXTRA_CA_CERTS:-}; do
    if [ ! -s "$ca" ]; then
        echo "bootstrap: GOLDEN_EXTRA_CA_CERTS names $ca, which is not a readable PEM file: mount it or fix the name" >&2
        exit 1
    fi
    extra_cas="$extra_cas $ca"
done
if [ -n "$(echo $extra_cas)" ]; then
    bundle=/dltk/.golden-ca-bundle.pem
    # shellcheck disable=SC2086 # one file name per word
    cat /etc/ssl/certs/ca-certificates.crt $extra_cas > "$bundle"
    export SSL_CERT_FILE="$bundle" REQUESTS_CA_BUNDLE="$bundle" PIP_CERT="$bundle" CURL_CA_BUNDLE="$bundle"
    # shellcheck disable=SC2086
    echo "bootstrap: trusting the system's CAs and those of" $extra_cas
fi

https=true
case "$(printf %s "${ENABLE_HTTPS:-true}" | tr '[:upper:]' '[:lower:]')" in
    false|0|no|off) https=false ;;
esac
tls=""
if [ "$https" = true ]; then
    key=${API_SSL_KEY:-/dltk/.jupyter/dltk.key}
    cert=${API_SSL_CERT:-/dltk/.jupyter/dltk.pem}
    if [ ! -s "$key" ] || [ ! -s "$cert" ]; then
        # DSDL's subject, plus the names clients that verify use: this host, localhost, the loopback.
        openssl req -x509 -nodes -days 3650 -newkey rsa:2048 -keyout "$key" -out "$cert" -subj "/CN=dsdl" \
            -addext "subjectAltName=DNS:dsdl,DNS:$(uname -n),DNS:localhost,IP:127.0.0.1,IP:::1" 2>/dev/null
        chmod 600 "$key"
        echo "bootstrap: made a TLS key and self-signed certificate for this container"
    fi
    export API_SSL_KEY="$key" API_SSL_CERT="$cert"
    tls="--ssl-keyfile $key --ssl-certfile $cert"
    echo "ENABLE_HTTPS=true"
fi

workers=${api_workers:-1}
mode=${MODE_DEV_PROD:-PROD}
echo "Starting in mode = $mode with $workers api workers"
if [ "$mode" != "PROD" ]; then
    jupyter lab --no-browser --ip=0.0.0.0 --port=8888 &
    mkdir -p /srv/notebooks/logs
    tensorboard --bind_all --port 6006 --logdir /srv/notebooks/logs/ &
    # DSDL links its UI to this port through the container's host name, which MLflow 3 refuses by default
    mlflow ui --port 6000 --host 0.0.0.0 --allowed-hosts "*" &
fi
# shellcheck disable=SC2086 # $tls is two options
exec uvicorn app.main:app --host 0.0.0.0 --port 5000 --workers "$workers" $tls
