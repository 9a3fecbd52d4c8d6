"""The electronic archive of documents handed in at kiosks (issue 15; docs/documents.md "The archive").

``files``: the page files, content-addressed (on disk; an S3-compatible store would be one more ``PageFiles``).
``store``: cases, their pages and the list of broken commitments in the hub's database (SQLAlchemy Core).
``web``: the kiosks' case routes (``contract`` "documents handed in at a kiosk") and the public status page.
``cli``: ``hall-hub archive``: deny-commitments, export, purge.
"""
