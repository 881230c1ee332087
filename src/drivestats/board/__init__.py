"""The board: a local, read-only web page for the results and their lineage.

``create_app(workspace)`` is the Starlette app; ``drivestats board`` serves it
with uvicorn on 127.0.0.1, and ``drivestats board --get /path`` renders one
page without a server. Views are in views.py, file safety in files.py, the
server-side SVG charts in svg.py, templates and static files beside them.
"""
