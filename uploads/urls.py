# Routes of the uploads app (ingest, content, live image); owned by the uploads work.
urlpatterns: list = []
