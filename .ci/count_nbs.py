"Print 'N passed, N failed' over the notebooks nbdev_test runs, from its output; exit non-zero on any failure."
import sys
from nbdev.config import get_config
from nbdev.doclinks import nbglob

out, test_rc, other_fail = open(sys.argv[1]).read(), int(sys.argv[2]), int(sys.argv[3])
cfg = get_config()
nbs = nbglob(cfg.nbs_path, as_path=True)
names = sorted(str(p.relative_to(cfg.nbs_path)) for p in nbs)
failed = set()
if 'Tests Failed On The Following Notebooks' in out:
    tail = out.split('Tests Failed On The Following Notebooks')[1]
    failed = {n for n in names if n in tail}
    if not failed: failed = {'(unparsed failure)'}
elif test_rc != 0: failed = {'(nbdev_test exited %d)' % test_rc}
for n in names: print(('FAIL ' if n in failed else 'ok   ') + n)
if other_fail: print('plus: a repository check above failed (export, clean, docs or browser)')
n_failed = len(failed) + (1 if other_fail else 0)
print(f"{len(names) - len(failed & set(names))} passed, {n_failed} failed")
sys.exit(1 if n_failed or test_rc else 0)
