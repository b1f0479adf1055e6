"""JupyterLab in the golden image: DSDL's rules (dsdl-contract.md §1.5), and our notebook export.

- Saving a notebook exports its named cells to /srv/app/model/<notebook>.py (dsdl_golden.export).
- JUPYTER_PASSWD must be a Jupyter password hash, and not DSDL's old default one.
- HTTPS unless ENABLE_HTTPS is false (0, no, off), with the certificate the bootstrap made or mounted
  (API_SSL_CERT / API_SSL_KEY), the same rule the model API follows.
"""

import hashlib
import os

c = get_config()  # noqa: F821 - provided by Jupyter when it loads this file

c.FileContentsManager.post_save_hook = "dsdl_golden.export.post_save"

DEFAULT_JUPYTER_PASSWORD_SHA256 = "8bd001ab84cb8c74a23ca56471f830222b74afa08423487d9ddd1eba0f695ae7"  # noqa: S105 - refused
password = os.getenv("JUPYTER_PASSWD")
if not password:
    raise RuntimeError("JUPYTER_PASSWD must be set to start Jupyter Lab.")
if hashlib.sha256(password.encode("utf-8")).hexdigest() == DEFAULT_JUPYTER_PASSWORD_SHA256:
    raise RuntimeError("JUPYTER_PASSWD must not use the bundled default password hash.")
c.PasswordIdentityProvider.hashed_password = password

c.ServerApp.ip = "0.0.0.0"  # noqa: S104 - a container: DSDL publishes 8888
c.ServerApp.port = int(os.getenv("JUPYTER_PORT", "8888"))
c.ServerApp.root_dir = "/srv"
if os.getenv("ENABLE_HTTPS", "true").strip().lower() not in {"false", "0", "no", "off"}:
    c.ServerApp.certfile = os.getenv("API_SSL_CERT", "/dltk/.jupyter/dltk.pem")
    c.ServerApp.keyfile = os.getenv("API_SSL_KEY", "/dltk/.jupyter/dltk.key")
c.ZMQChannelsWebsocketConnection.iopub_data_rate_limit = 20_000_000
