"""The web surfaces: the Gradio chat and the JSON API, served together.

Importing this package switches off the developer-only parts of `import gradio` before Gradio loads
(`gradio_import`: 4.5 s -> 1.6 s).
"""

from assistant.web import gradio_import

gradio_import.install()
