"""What the project runs on, and what it would run on today without constraints.txt.

Prints the versions of av (with its FFmpeg) and torch in this venv, then resolves `pip install -e ".[dev]"` without
constraints (a dry run: nothing is installed) and lists every package whose newest allowed version differs from its
pin in constraints.txt. Informational: it never fails CI, so the pins stay what CI tested and the newest versions
stay visible."""
import json, subprocess, sys, tempfile
from pathlib import Path

import av, torch
print(f"installed: av {av.__version__} (FFmpeg {av.ffmpeg_version_info}), torch {torch.__version__}")
root = Path(__file__).resolve().parents[1]
pins = dict(l.split('==', 1) for l in (root/'constraints.txt').read_text().splitlines() if '==' in l and not l.startswith('#'))
pins = {k.lower().replace('_', '-'): v for k, v in pins.items()}
with tempfile.TemporaryDirectory() as d:
    r = subprocess.run([sys.executable, '-m', 'pip', 'install', '--dry-run', '--ignore-installed', '--quiet', '--report',
                        f"{d}/report.json", '-e', '.[dev]'], cwd=root, capture_output=True, text=True)
    if r.returncode: sys.exit(print("could not resolve the newest versions:", r.stderr.strip().splitlines()[-1:]))
    report = json.loads(Path(d, 'report.json').read_text())
newest = {i['metadata']['name'].lower().replace('_', '-'): i['metadata']['version'] for i in report['install']}
for k in ('stan-nb', 'pip', 'setuptools', 'wheel'): newest.pop(k, None)        # the package itself, and pip's build tools
diff = sorted((k, pins.get(k, '(not pinned)'), v) for k, v in newest.items() if pins.get(k) != v)
print(f"newest versions allowed by settings.ini: {len(newest)} packages, {len(diff)} differ from constraints.txt"
      + ''.join(f"\n  {k}: pinned {p}, newest {v}" for k, p, v in diff))
