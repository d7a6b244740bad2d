"""Browser checks (issue 5), in headless Chromium driven by Playwright.

1. report: a small demo (`run_demo`) writes `report.html`; opened from file:// with every network request blocked,
   it loads with no console error, page error or failed request and its figures render; dragging the slider of a
   space-attention figure changes the frame and the overlay shown (the figure's data, the <image>s drawn, the title,
   a screenshot of the plot area); then the slider visits every segment down, up and down again, and each segment
   looks the same however it is reached (frame, overlay, boxes, title), with what is drawn always what the figure holds.
2. lab: JupyterLab on localhost opens a temporary copy of nbs/14_viz.ipynb (the repository stays untouched), runs
   all its cells from the Run menu without an error, and the first Scrubber widget renders (three dropdowns, a slider,
   two plotly FigureWidgets) and reacts: dragging the time slider changes frame, overlay, title and the time cursor;
   stepping it with the keyboard through every segment, as in 1; the method dropdown changes the overlay, the clip
   dropdown the frame.

Usage: python .ci/browser_check.py [--only report|lab] [--demo DIR] [--keep]
Chromium: $CHROMIUM or /usr/bin/chromium (never `playwright install`). Exits 1 on any failure, each printed as
"FAIL <check>: expected ...; seen ..."; the screenshots and the JupyterLab log of a failed run are kept in a
temporary folder whose path is printed.
"""
import argparse, json, os, re, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request
from pathlib import Path
from playwright.sync_api import sync_playwright, Error as PWError

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get('CHROMIUM', '/usr/bin/chromium')
DEMO = dict(n=16, epochs=2, models=('stan', 'audio_baseline', 'abn', 'av_abn'), n_samples=4)

failures = []
class CheckFailed(Exception): pass

def fail(check, expected, seen):
    "Record a failure of `check`: what was expected and what was seen."
    failures.append(f"{check}: expected {expected}; seen {seen}")
    print(f"FAIL {failures[-1]}", flush=True)

def require(ok, check, expected, seen):
    "Like `fail`, but stops the check (what follows depends on it)."
    if not ok: fail(check, expected, seen); raise CheckFailed

def log(msg): print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

def watch(page, allow):
    "Collect console errors, page errors and failed requests; abort the requests whose URL `allow` rejects."
    errs, blocked = [], []
    page.on('console', lambda m: m.type == 'error' and errs.append(f"console error: {m.text} ({m.location.get('url', '')})"))
    page.on('pageerror', lambda e: errs.append(f"page error: {e}"))
    page.on('requestfailed', lambda r: r.url not in blocked and errs.append(f"request failed: {r.url} ({r.failure})"))
    def route(r):
        if allow(r.request.url): r.continue_()
        else: blocked.append(r.request.url); r.abort()
    page.route('**', route)
    return errs, blocked

# ------------------------------------------------------------------------------- a space-attention figure in the page
# its state in its data and layout (`source`, `z`, `title`, `nshapes`, `nlabels`: visible shapes, annotations) and drawn (`frame` and `overlay`: the
# <image>s of the image and heatmap traces; `drawn_title`; `boxes`: the shapes' paths; `labels`: the annotations)
STATE = """gd => ({source: gd.data[0].source, z: JSON.stringify(gd.data[1].z.bdata ?? gd.data[1].z),
  title: gd.layout.title.text ?? gd.layout.title, nshapes: (gd.layout.shapes || []).filter(s => s.visible !== false).length,
  frame: gd.querySelector('.imagelayer image')?.getAttribute('href'),
  overlay: gd.querySelector('.heatmaplayer image')?.getAttribute('href'),
  drawn_title: gd.querySelector('.gtitle')?.textContent,
  boxes: [...gd.querySelectorAll('.shapelayer path')].map(p => p.getAttribute('d')).sort(),
  nlabels: (gd.layout.annotations || []).filter(a => a.visible !== false).length,
  labels: [...gd.querySelectorAll('.infolayer .annotation')].map(a => a.textContent + ' at ' +
    a.querySelector('.cursor-pointer')?.getAttribute('transform')).sort()})"""
SHOWS = "s.drawn_title?.includes('segment ' + ({t}) + ' (') && s.frame == s.source"   # JS: segment t is drawn

def shot(gd, path):
    "Screenshot of the plot area of figure `gd` (frame and overlay: no title, slider or modebar), as bytes."
    gd.scroll_into_view_if_needed()
    gd.page.mouse.move(0, 0)                                       # no hover effects
    return gd.locator('.draglayer .xy .nsewdrag').first.screenshot(path=str(path), animations='disabled')

def consistent(check, st):
    "What is drawn must be what the figure holds: its frame, its title, one path and label per box, none twice."
    if st['frame'] != st['source']: fail(check, "the frame drawn to be the figure's frame image", 'another image (stale drawing)')
    if st['drawn_title'] != st['title']: fail(check, f"the title drawn to be {st['title']!r}", repr(st['drawn_title']))
    if len(st['boxes']) != st['nshapes'] or len(set(st['boxes'])) != len(st['boxes']):
        fail(check, f"{st['nshapes']} distinct boxes drawn", f"{len(st['boxes'])} paths, {len(set(st['boxes']))} distinct")
    if len(st['labels']) != st['nlabels'] or len(set(st['labels'])) != len(st['labels']):
        fail(check, f"{st['nlabels']} distinct box labels drawn", f"{len(st['labels'])}, {len(set(st['labels']))} distinct")

def compare(check, before, after, keys, same=()):
    "Each of `keys` must differ between the two states, each of `same` must not."
    for k in keys:
        if before[k] == after[k]: fail(check, f"{k} to change", f"unchanged ({str(before[k])[:80]}...)")
    for k in same:
        if before[k] != after[k]: fail(check, f"{k} unchanged", f"{str(before[k])[:60]} -> {str(after[k])[:60]}")

def settle(gd, what, cond, errs, timeout=15):
    "Wait until the figure's state `s` meets `cond` (JS); check what it draws and that nothing logged an error."
    try: gd.page.wait_for_function(f"gd => {{ const s = ({STATE})(gd); return !!({cond}); }}", arg=gd.element_handle(),
                                   timeout=timeout*1000)
    except PWError: log(f"{what}: the figure did not settle within {timeout} s")
    gd.page.wait_for_timeout(300)
    st = gd.evaluate(STATE)
    consistent(what, st)
    if errs: fail(what, 'no console error, page error or failed request', errs[:5]); errs.clear()
    return st

def drag(page, handle, x):
    "Drag the slider handle (a locator) to page x."
    b = handle.bounding_box(); y = b['y'] + b['height']/2
    page.mouse.move(b['x'] + b['width']/2, y); page.mouse.down(); page.mouse.move(x, y, steps=10); page.mouse.up()

def round_trip(check, gd, start, T, move, errs, shots, extra=lambda what, t: None):
    "Scrub from `start` down to 0, up to T - 1, down to 0, a segment at a time: each looks the same however reached."
    seen, came, path = {}, {}, [*range(start - 1, -1, -1), *range(1, T), *range(T - 2, -1, -1)]
    log(f"{check}: stepping the slider through {path}")
    show = lambda v: f"{len(v)} drawn" if isinstance(v, list) else repr(v)[:70]
    for prev, t in zip([start] + path, path):
        what, n = f"{check}: slider stepped {prev} -> {t}", len(failures)
        move(prev, t)
        st = settle(gd, what, SHOWS.format(t=t), errs)
        if f"segment {t} (" not in (st['drawn_title'] or ''): fail(what, f"title 'segment {t} (...' drawn", repr(st['drawn_title']))
        extra(what, t)
        key = {k: st[k] for k in ('source', 'z', 'overlay', 'boxes', 'labels', 'title')}
        if seen.setdefault(t, key) != key:
            fail(what, f"segment {t} shown as when reached from {came[t]}", '; '.join(
                f"{k}: {show(seen[t][k])} then, {show(key[k])} now" + (' (moved)' if isinstance(key[k], list) and len(key[k]) == len(seen[t][k]) else '')
                for k in key if key[k] != seen[t][k]))
        came.setdefault(t, prev)
        if len(failures) > n: shot(gd, shots/f"{re.sub(r'[^a-z0-9]+', '_', check)}_step_{prev}_{t}.png"); break

# ------------------------------------------------------------------------------------------------------------ report
def make_demo(out):
    "The small demo, in a subprocess (torch's threads and memory go away with it)."
    code = (f"from stan_nb.demo import run_demo; run_demo({str(out)!r}, n={DEMO['n']}, epochs={DEMO['epochs']}, "
            f"models={DEMO['models']!r}, n_samples={DEMO['n_samples']}, progress=False)")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    require(r.returncode == 0 and (out/'report.html').is_file(), 'report: run_demo',
            'exit 0 and report.html written', f"exit {r.returncode}: {r.stderr[-2000:]}")

def check_report(browser, report, shots):
    check = 'report'
    page = browser.new_page(viewport=dict(width=1100, height=900))
    errs, blocked = watch(page, lambda u: u.split(':', 1)[0] in ('file', 'data', 'blob'))
    page.goto(report.as_uri(), wait_until='load')
    n = page.evaluate("() => document.querySelectorAll('.plotly-graph-div').length")
    require(n > 0, check, 'plotly figures in the page', 'none')
    try: page.wait_for_function(f"() => [...document.querySelectorAll('.plotly-graph-div')].filter(gd => gd._fullLayout)"
                                f".length == {n}", timeout=30_000)
    except PWError: fail(check, f"all {n} figures rendered", page.evaluate(
        "() => [...document.querySelectorAll('.plotly-graph-div')].filter(gd => !gd._fullLayout).map(gd => gd.id) + ' not rendered'"))
    page.wait_for_timeout(500)
    if blocked: fail(check, 'no network request (offline page)', f"{len(blocked)} blocked: {blocked[:5]}")
    if errs: fail(check, 'no console error, page error or failed request', errs[:10]); errs.clear()
    ids = page.evaluate("""() => [...document.querySelectorAll('.plotly-graph-div')].filter(gd => (gd.layout.sliders || []).length
        && gd.data[0].type == 'image' && gd.data[1].type == 'heatmap').map(gd => gd.id)""")
    require(ids, check, 'a space-attention figure (image + heatmap + slider)', 'none')
    gd, check = page.locator(f"#{ids[0]}"), f"report: #{ids[0]}"
    s0, png0 = gd.evaluate(STATE), shot(gd, shots/'report_before.png')
    consistent(f"{check} as loaded", s0)
    ticks = gd.locator('.slider-tick-rect')
    T = ticks.count(); t = min(3, T - 1)
    require(t > 0, check, 'a slider with several steps', f"{T} steps")
    log(f"report: {n} figures, {len(ids)} with a slider; dragging the slider of #{ids[0]} to {t}")
    to = lambda t: ticks.nth(t).bounding_box()['x'] + ticks.nth(t).bounding_box()['width']/2
    drag(page, gd.locator('.slider-grip-rect'), to(t))
    what = f"{check}: slider dragged 0 -> {t}"
    s1 = settle(gd, what, SHOWS.format(t=t), errs)
    compare(what, s0, s1, ('source', 'z', 'frame', 'overlay', 'title'))
    active, src = gd.evaluate(f"gd => [gd.layout.sliders[0].active, gd._transitionData._frameHash['{t}'].data[0].source]")
    if active != t or s1['source'] != src: fail(what, f"slider step {t} active, animation frame {t}'s image shown",
                                               f"step {active} active, {'its' if s1['source'] == src else 'another'} image")
    if png0 == shot(gd, shots/'report_dragged.png'): fail(what, 'the plot area to change', 'identical screenshots')
    for i in ids:                                                  # every space-attention figure, segment by segment
        gd = page.locator(f"#{i}"); ticks = gd.locator('.slider-tick-rect'); T = ticks.count()
        if i != ids[0]: gd.scroll_into_view_if_needed(); t = 0
        def click(prev, t): r = gd.locator('.slider-rail-rect').bounding_box(); page.mouse.click(to(t), r['y'] + r['height']/2)
        round_trip(f"report: #{i}", gd, t, T, click, errs, shots)
    page.close()

# --------------------------------------------------------------------------------------------------------------- lab
def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def start_lab(tmp):
    "JupyterLab on localhost serving `tmp/nb` (a copy of the viz notebook), with its own settings; (process, url)."
    (tmp/'nb').mkdir(); settings = tmp/'settings'/'@jupyterlab'/'apputils-extension'
    settings.mkdir(parents=True)                                   # no news toast, no request to the news feed
    (settings/'notification.jupyterlab-settings').write_text(json.dumps(dict(fetchNews='false', checkForUpdates=False)))
    nb = json.loads((ROOT/'nbs'/'14_viz.ipynb').read_text())
    nb['metadata']['kernelspec'] = dict(name='python3', display_name='Python 3', language='python')  # no kernel dialog
    (tmp/'nb'/'viz_check.ipynb').write_text(json.dumps(nb))
    port, logf = free_port(), open(tmp/'jupyterlab.log', 'w')
    cmd = [sys.executable, '-m', 'jupyterlab', '--no-browser', f'--port={port}', '--ServerApp.port_retries=0',
           '--ServerApp.ip=127.0.0.1', "--ServerApp.token=", "--ServerApp.password=", f"--ServerApp.root_dir={tmp/'nb'}",
           f"--LabApp.user_settings_dir={tmp/'settings'}", f"--LabApp.workspaces_dir={tmp/'workspaces'}",
           '--LabApp.expose_app_in_browser=True', '--LabApp.extension_manager=readonly', '--allow-root',
           '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate']
    proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, cwd=tmp/'nb', start_new_session=True,
                            env=dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp/'runtime')))
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        if proc.poll() is not None: break
        try: urllib.request.urlopen(f"{url}/api/status", timeout=2); return proc, url
        except OSError: time.sleep(.5)
    stop_lab(proc)
    require(False, 'lab: server start', f"JupyterLab answering on {url} within 60 s",
            f"exit code {proc.returncode}; log: {(tmp/'jupyterlab.log').read_text()[-1500:]}")

def stop_lab(proc):
    "Stop the server and its kernels (its process group)."
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        try: proc.wait(15)
        except subprocess.TimeoutExpired: os.killpg(proc.pid, signal.SIGKILL); proc.wait(5)
    except ProcessLookupError: pass

# the notebook as the app sees it: per code cell, its execution count and state, and any error output
CELLS = """() => { const nb = window.jupyterapp.shell.currentWidget?.content; if (!nb?.model) return null;
  return [...nb.model.cells].filter(c => c.type == 'code').map(c => ({n: c.executionCount, state: c.executionState,
    err: [...Array(c.outputs.length).keys()].map(i => c.outputs.get(i).toJSON()).filter(o => o.output_type == 'error')
          .map(o => `${o.ename}: ${o.evalue}`).join('; '), src: c.sharedModel.getSource().slice(0, 60)})); }"""

def run_all(page, timeout=300):
    "Run all cells from the Run menu; wait until every code cell ran or one failed."
    check = 'lab: run all cells'
    page.locator('.lm-MenuBar-itemLabel', has_text='Run').first.click()
    page.locator('.lm-Menu-itemLabel', has_text='Run All Cells').first.click()
    t0, cells = time.time(), None
    while time.time() - t0 < timeout:
        cells = page.evaluate(CELLS)
        if cells and all(c['state'] != 'running' for c in cells) and (
            any(c['err'] for c in cells) or all(c['n'] for c in cells)): break
        time.sleep(1)
    log(f"lab: ran {sum(bool(c['n']) for c in cells)}/{len(cells)} code cells in {time.time() - t0:.0f} s")
    for i, c in enumerate(cells):
        if c['err']: fail(check, 'no error output', f"code cell {i} ({c['src']!r}...): {c['err'][:500]}")
    require(all(c['n'] for c in cells), check, f"every code cell executed within {timeout} s",
            [f"code cell {i} ({c['src']!r}...) not run" for i, c in enumerate(cells) if not c['n']][:5])

def check_lab(browser, tmp, shots):
    proc, url = start_lab(tmp)
    try:
        page = browser.new_page(viewport=dict(width=1400, height=1000))
        errs, blocked = watch(page, lambda u: u.startswith(url) or u.split(':', 1)[0] in ('data', 'blob'))
        page.goto(f"{url}/lab/tree/viz_check.ipynb")
        try: page.wait_for_function("() => window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel?.status"
                                    " == 'idle'", timeout=120_000)
        except PWError: require(False, 'lab: open the notebook', 'the notebook open with an idle kernel within 120 s',
                                page.screenshot(path=str(shots/'lab_open.png')) and 'see lab_open.png')
        log('lab: notebook open, kernel idle; Run > Run All Cells')
        run_all(page)
        if errs: fail('lab: open and run', 'no console error, page error or failed request', errs[:10]); errs.clear()
        scrub(page, shots, errs)
        if blocked: fail('lab', 'no request outside localhost', blocked[:5])
        page.close()
    finally:
        t = time.time(); stop_lab(proc); log(f"lab: server stopped ({time.time() - t:.0f} s)")

def scrub(page, shots, errs):
    "The first Scrubber in the outputs: drag its time slider, step it through every segment, switch method and clip."
    check = 'lab: scrubber'
    box = page.locator('.jp-OutputArea-output .widget-vbox').filter(has=page.locator('.widget-slider')).first
    try: box.wait_for(timeout=60_000)
    except PWError: require(False, check, 'a rendered widget with a slider in the outputs', 'none within 60 s')
    box.scroll_into_view_if_needed()
    try: page.wait_for_function("b => [...b.querySelectorAll('.js-plotly-plot')].filter(gd => gd._fullLayout).length == 2",
                                arg=box.element_handle(), timeout=60_000)
    except PWError: require(False, check, 'two rendered plotly figures in the widget (FigureWidget/anywidget)',
                            f"{box.locator('.js-plotly-plot').count()} graph divs")
    selects, handle = box.locator('.widget-dropdown select'), box.locator('.widget-slider .noUi-handle').first
    require(selects.count() == 3 and handle.count() == 1, check, 'three dropdowns (clip, class, method) and a slider',
            f"{selects.count()} dropdowns, {handle.count()} slider handles")
    gd = box.locator('.js-plotly-plot').filter(has=page.locator('.imagelayer image')).first
    tgd = box.locator('.js-plotly-plot').filter(has_not=page.locator('.imagelayer image')).first
    require(gd.count() == 1 and tgd.count() == 1, check, 'an attention figure (frame + overlay) and a time figure', 'not both')
    value = lambda: int(float(handle.get_attribute('aria-valuenow')))
    def cursor(what, t):
        "The time figure's cursor is at segment t, and the time figure draws every shape it holds."
        x0, n, drawn = tgd.evaluate("gd => [gd.layout.shapes.find(s => s.name == 'cursor')?.x0, gd.layout.shapes.length, "
                                    "gd.querySelectorAll('.shapelayer path').length]")
        if x0 != t or n != drawn: fail(what, f"the time cursor at {t} s, all {n} shapes drawn", f"cursor at {x0}, {drawn} drawn")
    s0, png0 = gd.evaluate(STATE), shot(gd, shots/'lab_before.png')
    consistent(f"{check} as rendered", s0)
    require(value() == 0 and 'segment 0 (' in s0['title'], check, "slider at 0 and title 'segment 0 (...'",
            f"slider {value()}, title {s0['title']!r}")
    T = int(float(handle.get_attribute('aria-valuemax'))) + 1
    log(f"lab: scrubber rendered ({T} segments); dragging the slider")
    track = box.locator('.widget-slider .noUi-target').first.bounding_box()
    drag(page, handle, track['x'] + track['width']*.55)
    readout = "document.querySelector('.widget-slider .widget-readout').textContent.trim()"   # the first scrubber's
    s1 = settle(gd, f"{check}: slider dragged", f"{readout} != '0' && " + SHOWS.format(t=readout), errs)
    t = value(); what = f"{check}: slider dragged 0 -> {t}"
    compare(what, s0, s1, ('source', 'z', 'frame', 'overlay', 'title'))
    if png0 == shot(gd, shots/'lab_dragged.png'): fail(what, 'the plot area to change', 'identical screenshots')
    cursor(what, t)
    handle.focus()
    round_trip(check, gd, t, T, lambda prev, t: page.keyboard.press('ArrowLeft' if t < prev else 'ArrowRight'),
               errs, shots, cursor)
    log('lab: switching the method, then the clip')
    method, s1 = selects.nth(2), gd.evaluate(STATE)
    name = method.locator('option').nth(1).inner_text().replace('\xa0', ' ')      # ipywidgets labels use nbsp
    method.select_option(index=1)
    what = f"{check}: method changed to {name!r}"
    s2 = settle(gd, what, f"s.drawn_title?.startsWith({json.dumps(name)}) && s.frame == s.source", errs)
    compare(what, s1, s2, ('z', 'overlay', 'title'), same=('source',))
    clip = selects.nth(0).locator('option').nth(2).inner_text().replace('\xa0', ' ')
    selects.nth(0).select_option(index=2)
    what = f"{check}: clip changed to {clip!r}"
    s3 = settle(gd, what, f"s.source != {json.dumps(s2['source'])} && s.frame == s.source", errs)
    compare(what, s2, s3, ('source', 'frame', 'z', 'overlay'))

# -------------------------------------------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--only', choices=('report', 'lab'), help='run one check')
    ap.add_argument('--demo', type=Path, help='demo folder to reuse (the demo is made there if it has no report.html)')
    ap.add_argument('--keep', action='store_true', help='keep the temporary folder (screenshots, logs) even on success')
    args = ap.parse_args()
    if not Path(CHROMIUM).is_file(): print(f"FAIL browser checks: expected Chromium at {CHROMIUM}; seen none"); return 1
    tmp = Path(tempfile.mkdtemp(prefix='stan_browser_check_')); shots = tmp/'screenshots'; shots.mkdir()
    t0 = time.time()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        for name in ('report', 'lab'):
            if args.only not in (None, name): continue
            t, n = time.time(), len(failures)
            try:
                if name == 'report':
                    demo = args.demo or tmp/'demo'
                    if not (demo/'report.html').is_file():
                        log(f"report: running the small demo into {demo}"); make_demo(demo)
                    check_report(browser, demo/'report.html', shots)
                else: check_lab(browser, tmp, shots)
            except CheckFailed: pass
            except Exception as e: fail(name, 'the check to run to its end', f"{type(e).__name__}: {e}")
            log(f"{name}: {'ok' if len(failures) == n else 'FAILED'} ({time.time() - t:.0f} s)")
        browser.close()
    print(f"browser checks: {'ok' if not failures else f'{len(failures)} failure(s)'} in {time.time() - t0:.0f} s")
    if failures or args.keep: print(f"screenshots and logs: {tmp}")
    else: shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0

if __name__ == '__main__': sys.exit(main())
