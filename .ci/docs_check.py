"""Check the docs as far as they build without Quarto.

1. the site config: top-level `_quarto.yml` is the one nbdev uses (`nbs/_quarto.yml` links to it); plotly.js is
   loaded once, from the file `stan_nb site-assets` copies out of the plotly wheel, never from a CDN;
2. the sidebar lists every notebook, in pipeline order, and nothing that does not exist;
3. README.md says what nbs/index.ipynb says (its markdown, and its shown code cells as ```python blocks);
4. no `#| slow` cell runs when the docs are built (nbdev executes every cell that imports something);
5. nbdev's processing for the docs (`proc_nbs`) succeeds on every notebook, and pandoc renders every page to HTML;
   no page embeds plotly.js or loads it from a CDN.
"""
import ast, json, re, subprocess, sys, tempfile
from pathlib import Path
import yaml, pypandoc
from nbdev.config import get_config
from nbdev.doclinks import nbglob
from nbdev.serve import proc_nbs

errors = []
def check(ok, msg):
    if not ok: errors.append(msg); print('FAIL', msg)

def entries(items):
    for it in items:
        if isinstance(it, str): yield it
        elif 'contents' in it: yield from entries(it['contents'])
        elif 'href' in it: yield it['href']

def page_text(cell:dict):
    """What README.md shows of a cell of index.ipynb: a markdown cell as it is, a code cell as a ```python block
    without its `#|` directives; nothing (None) for a hidden (`#| hide`) cell."""
    src = ''.join(cell['source']).strip()
    if cell['cell_type'] == 'markdown': return src
    if cell['cell_type'] != 'code' or re.search(r'^#\|\s*hide\b', src, re.M): return None
    code = '\n'.join(l for l in src.splitlines() if not l.startswith('#|')).strip()
    return f"```python\n{code}\n```"

def main():
    cfg = get_config(); root, nbs = cfg.config_path, cfg.nbs_path

    # 1. site config
    top, link = root/'_quarto.yml', nbs/'_quarto.yml'
    check(top.is_file(), f"{top} is missing")
    check(link.resolve() == top.resolve(), f"{link} must be a link to {top} (found {link.resolve()})")
    q = yaml.safe_load(top.read_text())
    check(q['project'].get('pre-render') == 'stan_nb site-assets', "_quarto.yml: project.pre-render must be 'stan_nb site-assets'")
    check('plotly.min.js' in q['project'].get('resources', []), "_quarto.yml: project.resources must list plotly.min.js")
    hdr = json.dumps(q['format']['html'].get('include-in-header', ''))
    check('src=\\"plotly.min.js\\"' in hdr, "_quarto.yml: format.html.include-in-header must load plotly.min.js")
    check(not re.search(r'https?://', top.read_text()), "_quarto.yml must load nothing from the network (no CDN)")

    # 2. sidebar
    side = list(entries(yaml.safe_load((nbs/'sidebar.yml').read_text())['website']['sidebar']['contents']))
    pages = sorted(str(p.relative_to(nbs)) for p in nbglob(nbs, file_glob='*.ipynb', as_path=True))
    for s in side: check((nbs/s).exists(), f"sidebar.yml lists {s}, which does not exist")
    for p in pages: check(p in side, f"sidebar.yml does not list {p}")
    numbered = [s for s in side if re.match(r'\d', s)]
    check(numbered == sorted(numbered), f"sidebar.yml is not in pipeline order: {numbered}")

    # 3. README == index.ipynb: its markdown cells, and its shown code cells as ```python blocks
    index = json.loads((nbs/'index.ipynb').read_text())
    md = '\n\n'.join(t for t in map(page_text, index['cells']) if t)
    readme = (root/'README.md').read_text().replace('](nbs/', '](')  # README links images from the top level
    check(md.strip() == readme.strip(), "README.md differs from the markdown of nbs/index.ipynb")

    # 4. a `#| slow` cell must not run when the docs are built: nbdev's doc processing executes every cell that
    #    imports anything (`nbdev.processors._do_eval`), so a slow cell may hold imports only if it holds nothing else
    for p in pages:
        for c in json.loads((nbs/p).read_text())['cells']:
            src = ''.join(c['source'])
            if c['cell_type'] != 'code' or not re.search(r'^#\|\s*slow', src, re.M): continue
            body = ast.parse('\n'.join(l for l in src.splitlines() if not l.lstrip().startswith(('#|', '%', '!'))))
            imports = any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(body))
            check(not imports or all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in body.body),
                  f"{p}: slow cell {c.get('id')} imports and does other work, so building the docs would run it; "
                  "move its imports to an import cell")

    # 5. nbdev processing and a pandoc render of every page
    cache = proc_nbs(force=True, n_workers=1)
    out = Path(tempfile.mkdtemp())
    n = 0
    for f in sorted(cache.rglob('*')):
        fmt = {'.ipynb': 'ipynb', '.md': 'markdown', '.qmd': 'markdown'}.get(f.suffix)
        if not fmt: continue
        src = f
        if fmt == 'ipynb':  # pandoc's reader wants integer execution counts; cleaned notebooks have null ones
            nb = json.loads(f.read_text())
            for c in nb['cells']:
                if c['cell_type'] == 'code':
                    c['execution_count'] = c.get('execution_count') or 1
                    for o in c.get('outputs', []):
                        if 'execution_count' in o: o['execution_count'] = o['execution_count'] or 1
            src = out/f.name; src.write_text(json.dumps(nb))
        try: html = pypandoc.convert_file(str(src), 'html', format=fmt, extra_args=['--standalone', '--metadata', f'pagetitle={f.stem}'])
        except Exception as e: check(False, f"pandoc cannot render {f.relative_to(cache)}: {e}"); continue
        (out/f.with_suffix('.html').name).write_text(html); n += 1
        remote = re.findall(r'<script[^>]*\ssrc=["\']https?://[^"\']*', html)
        check(not remote, f"{f.name} loads scripts from the network: {remote[:2]}")
        big = max((len(b) for b in re.findall(r'<script[^>]*>(.*?)</script>', html, re.S)), default=0)
        check(big < 500_000, f"{f.name} embeds a {big}-byte script (plotly.js belongs once to the site, not to a page)")
    print(f"pandoc rendered {n} pages to {out}")
    check(n >= len(pages), f"rendered {n} pages, expected at least {len(pages)}")
    r = subprocess.run(['stan_nb', 'site-assets', '--out', str(cache)], capture_output=True, text=True)
    check(r.returncode == 0 and (cache/'plotly.min.js').stat().st_size > 1_000_000, f"stan_nb site-assets failed: {r.stderr}")
    print('docs check:', 'ok' if not errors else f'{len(errors)} problem(s)')
    return 1 if errors else 0

if __name__ == '__main__': sys.exit(main())  # proc_nbs starts worker processes (spawn)
