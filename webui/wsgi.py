"""WSGI entry point for gunicorn (``zhifa serve``)."""
from . import create_app

app = create_app()
