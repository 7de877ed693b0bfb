import app

assert app.weekday("2024-02-29") == "Thursday"
print("weekday ok")
