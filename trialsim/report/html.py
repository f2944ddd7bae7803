"""The report as HTML: one self-contained file (figures as SVG data URIs, CSS inline, no network).

Rendered from the document model through the jinja2 templates in
``trialsim/templates`` (report.html, report.css). Autoescaping is on for
everything the document holds (scenario names, comments, paths); the one value
inserted as it is (``| safe``) is the package's own stylesheet, which must not
be escaped (``"DejaVu Sans"`` would become ``&#34;DejaVu Sans&#34;`` and the
browser would drop the rule) and cannot close its ``<style>`` element.
"""

from __future__ import annotations

from trialsim.report.document import Document
from trialsim.version import __version__


def _jinja_env():
    import jinja2  # deferred: only rendering needs jinja2, not `import trialsim.report`

    env = jinja2.Environment(loader=jinja2.PackageLoader("trialsim", "templates"),
                             autoescape=jinja2.select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    return env


def render_html(doc: Document) -> str:
    """The self-contained HTML of a document (figures as SVG data URIs, CSS inline)."""
    env = _jinja_env()
    css = env.loader.get_source(env, "report.css")[0]
    if "</" in css:     # a trusted file, but the one unescaped value: it must stay inside <style>
        raise ValueError("report.css must not contain '</' (it would end the <style> element)")
    return env.get_template("report.html").render(doc=doc, css=css, version=__version__)
