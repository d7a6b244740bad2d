"""The shape of the code base, for reviews of its structure: run `python .ci/structure.py` from the repository root.

Prints (a) every module of stan_nb/ with its line count, (b) the largest functions and methods (and every one over
`LONG` lines), (c) the largest code cells of the notebooks, and (d) every private cross-module import or use: a
name starting with `_` imported from another stan_nb module, read as `module._name`, or read as `obj._name` where only
another module defines `_name`; and the raw handles of another module's objects (`HANDLES`). Standard library only.
"""
import ast, json, re, sys
from pathlib import Path

PKG, NBS = Path('stan_nb'), Path('nbs')
TOP, LONG = 10, 50           # rows of the top lists; functions longer than LONG lines are all listed
HANDLES = {'f': ('features', "FeatureWriter's open h5py.File")}  # attribute: (the module that owns it, what it is)

def modules() -> dict:
    "{module name: source text} of every stan_nb/*.py."
    return {p.stem: p.read_text(encoding='utf-8') for p in sorted(PKG.glob('*.py'))}

def n_lines(text:str) -> int: return len(text.splitlines())

def functions(tree:ast.Module) -> list:
    "[(qualified name, lines)] of every function and method in `tree`, nested ones included."
    out = []
    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef): out.append((name, child.end_lineno - child.lineno + 1))
                visit(child, name + '.')
            else: visit(child, prefix)
    visit(tree, '')
    return out

def code_cells(nb:Path) -> list:
    "[(cell index, source)] of the code cells of notebook `nb`."
    cells = json.loads(nb.read_text(encoding='utf-8'))['cells']
    return [(i, ''.join(c['source'])) for i, c in enumerate(cells) if c['cell_type'] == 'code']

def defined_private(tree:ast.Module) -> set:
    "Names starting with one `_` that `tree` defines: functions, classes, assignments and `self._x` attributes."
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store): names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store): names.add(node.attr)
    return {n for n in names if is_private(n)}

def is_private(name:str) -> bool: return name.startswith('_') and not name.endswith('__')

def stan_module(node:ast.ImportFrom, here:str) -> str|None:
    "The stan_nb module an import names (`from .x`, `from stan_nb.x`), '' for the package itself, None for others."
    if node.level == 1 or (node.level == 0 and (node.module or '').split('.')[0] == 'stan_nb'):
        parts = (node.module or '').split('.')
        return parts[-1] if node.module and node.module != 'stan_nb' else ''
    return None

def private_uses(name:str, tree:ast.Module, owners:dict) -> list:
    "[(line, text)] of the private cross-module imports and uses in module `name`."
    out, mod_alias = [], {}
    mine = defined_private(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (src := stan_module(node, name)) is not None:
            for a in node.names:
                if src == '' and a.name in owners.get('__modules__', ()): mod_alias[a.asname or a.name] = a.name
                elif is_private(a.name) and src != name: out.append((node.lineno, f"from .{src} import {a.name}"))
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith('stan_nb.'): mod_alias[a.asname or a.name] = a.name.split('.')[-1]
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute): continue
        base = node.value.id if isinstance(node.value, ast.Name) else None
        if base in mod_alias and is_private(node.attr):
            out.append((node.lineno, f"{base}.{node.attr} (module {mod_alias[base]})"))
        elif base not in ('self', 'cls', None) and is_private(node.attr) and node.attr not in mine \
                and owners.get(node.attr, {name}) - {name}:
            out.append((node.lineno, f"{base}.{node.attr} (defined in {', '.join(sorted(owners[node.attr]))})"))
        elif node.attr in HANDLES and base not in ('self', None) and HANDLES[node.attr][0] != name:
            out.append((node.lineno, f"{base}.{node.attr} ({HANDLES[node.attr][1]})"))
    return sorted(set(out))

def notebook_private_imports(nb:Path, mods:set) -> list:
    "[(cell index, text)] of the test cells of `nb` (exported ones are the modules') importing another module's private name."
    own, out = None, []
    for i, src in code_cells(nb):
        m = re.search(r'^#\|\s*default_exp\s+(\S+)', src, re.M)
        if m: own = m.group(1)
        if re.search(r'^#\|\s*export', src, re.M): continue
        try: tree = ast.parse('\n'.join(l for l in src.splitlines() if not l.lstrip().startswith(('%', '!'))))
        except SyntaxError: continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or '').startswith('stan_nb.'):
                src_mod = node.module.split('.')[-1]
                out += [(i, f"from stan_nb.{src_mod} import {a.name}") for a in node.names
                        if is_private(a.name) and src_mod in mods and src_mod != own]
    return out

def first_line(src:str) -> str:
    "The first line of a cell after its `#|` directives, marked [export] for an exported cell."
    lines = src.splitlines()
    code = [l for l in lines if l.strip() and not l.startswith('#|')]
    return ('[export] ' if any(re.match(r'#\|\s*export', l) for l in lines) else '') + (code[0] if code else '')

def section(title:str, rows:list):
    "Print a titled block of rows."
    print(f"\n## {title}")
    for r in rows: print(f"  {r}")
    if not rows: print('  (none)')

def main() -> int:
    mods = modules()
    trees = {m: ast.parse(t) for m, t in mods.items()}
    section(f"(a) modules of {PKG}/ ({sum(map(n_lines, mods.values()))} lines)",
            [f"{n_lines(t):6d}  {m}.py" for m, t in mods.items()])
    funcs = sorted(((n, m, f) for m, tr in trees.items() for f, n in functions(tr)), reverse=True)
    section(f"(b) the {TOP} largest functions and methods (lines)", [f"{n:6d}  {m}.{f}" for n, m, f in funcs[:TOP]])
    section(f"(b) every function over {LONG} lines ({sum(n > LONG for n, _, _ in funcs)})",
            [f"{n:6d}  {m}.{f}" for n, m, f in funcs if n > LONG])
    cells = sorted(((n_lines(s), nb.name, i, first_line(s)) for nb in sorted(NBS.glob('*.ipynb'))
                    for i, s in code_cells(nb)), reverse=True)
    section(f"(c) the {TOP} largest code cells (lines, notebook, cell index, first line)",
            [f"{n:6d}  {nb} #{i}: {first[:90]}" for n, nb, i, first in cells[:TOP]])
    owners = {'__modules__': set(mods)}
    for m, tr in trees.items():
        for p in defined_private(tr): owners.setdefault(p, set()).add(m)
    uses = [f"{m}.py:{line}: {text}" for m, tr in trees.items() for line, text in private_uses(m, tr, owners)]
    uses += [f"{nb.name} cell {i} (test cell): {text}" for nb in sorted(NBS.glob('*.ipynb'))
             for i, text in notebook_private_imports(nb, set(mods))]
    section(f"(d) private cross-module imports and uses ({len(uses)})", uses)
    return 0

if __name__ == '__main__': sys.exit(main())
