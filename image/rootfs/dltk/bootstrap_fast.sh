#!/bin/sh
# The image's entrypoint (under tini): DSDL's bootstrap_fast.sh behaviour (dsdl-contract.md §1.4).
#   1. back up /srv/notebooks once per image version (DSDL's bootstrap_backup.sh);
#   2. refresh /srv/app from /dltk/app and copy the shipped notebooks into /srv/notebooks;
#   3. give an arbitrary user id a passwd entry (OpenShift, DSDL's Kubernetes mode);
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

mkdir -p /srv/app
find /srv/app -type d -name __pycache__ -prune -exec rm -rf {} + 2>/dev/null || true
cp -RT /dltk/app /srv/app
cp -R /dltk/notebooks /srv

uid=$(id -u)
if [ -w /etc/passwd ] && ! grep -q "^[^:]*:[^:]*:$uid:" /etc/passwd; then
    echo "dltk:x:$uid:0:dltk user:/dltk:/sbin/nologin" >> /etc/passwd
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
