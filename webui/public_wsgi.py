"""WSGI entry point of the public site for gunicorn (``zhifa serve --public``)."""
from .public import create_public_app

app = create_public_app()
