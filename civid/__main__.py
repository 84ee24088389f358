from civid.cli import app

app()
