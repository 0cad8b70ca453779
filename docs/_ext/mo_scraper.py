"""A sphinx-gallery image scraper for figures made outside pyplot.

metaoutcome's figure functions build their Figure without pyplot's figure manager (so they never
touch the user's current figure); sphinx-gallery's built-in matplotlib scraper only sees pyplot's
figures. This scraper also collects every Figure (or Axes' Figure) bound to a name in the example,
each once per example, in the order it first appears.
"""

from __future__ import annotations

from typing import Any

# figures already shown, per example (kept alive so that an id is never reused)
_SEEN: dict[str, list[Any]] = {}


def scrape(block: Any, block_vars: dict[str, Any], gallery_conf: dict[str, Any]) -> str:
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from sphinx_gallery.scrapers import figure_rst

    seen = _SEEN.setdefault(str(block_vars["src_file"]), [])
    candidates = [v.figure if isinstance(v, Axes) else v for v in block_vars["example_globals"].values()]
    candidates += [plt.figure(num) for num in plt.get_fignums()]
    figures: list[Figure] = []
    for fig in candidates:
        if isinstance(fig, Figure) and all(fig is not f for f in seen + figures):
            figures.append(fig)
    names = []
    for fig, path in zip(figures, block_vars["image_path_iterator"]):
        seen.append(fig)
        fig.savefig(path, dpi=150)
        names.append(path)
    plt.close("all")
    return figure_rst(names, gallery_conf["src_dir"])
