"""The one HTML report (nrdh.html_report): complete and self-contained."""

from html.parser import HTMLParser

import matplotlib.pyplot as plt
import numpy as np
from conftest import make_runs, run_files, sources

from nrdh import html_report
from nrdh.stages.summarize import summarize_stage


class Links(HTMLParser):
    """Collects headings, tags and every src/href value of a page."""

    def __init__(self):
        super().__init__()
        self.tags, self.urls, self.headings, self._in_h2 = [], [], [], False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.urls += [v for k, v in attrs if k in ("src", "href")]
        self._in_h2 = tag == "h2"

    def handle_data(self, data):
        if self._in_h2:
            self.headings.append(data)
            self._in_h2 = False


def test_html_report_is_complete_and_self_contained(tmp_path):
    make_runs(tmp_path)
    reports = tmp_path / "reports"
    (reports / "grid").mkdir(parents=True)
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.imshow(np.eye(8))
    fig.savefig(reports / "grid" / "digits.png")
    plt.close(fig)
    params = {"summary": {"reference": "a"}, "graph": {"rho": 0.4, "M": 10}}
    summarize_stage(
        sources=sources(tmp_path, diag=run_files(tmp_path, "diag", "diag")),
        summary_out=tmp_path / "s.json",
        headline_out=tmp_path / "headline.json",
        reports_dir=reports,
        reference="a",
        params=params,
    )
    text = (reports / "report.html").read_text()
    page = Links()
    page.feed(text)
    assert page.headings == list(html_report.SECTIONS)
    assert page.urls and all(u.startswith("data:image/") for u in page.urls)
    assert sum(u.startswith("data:image/png") for u in page.urls) == 1  # the grid
    assert sum(u.startswith("data:image/svg+xml") for u in page.urls) == 3  # the figures
    for banned in ("http://", "https://", 'src="//', "url("):
        assert banned not in text
    assert "link" not in page.tags and "script" not in page.tags
    assert "rho: 0.4" in text and "M: 10" in text  # the params block
    assert "Reference method: <b>a</b>" in text  # from the summary section
    assert "-0.1000 beyond noise" in text  # nrdh vs a
    assert text.isascii()
