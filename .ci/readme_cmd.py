"Print one of the README's quickstart commands: the fenced line after the marker `<!-- quickstart: NAME -->`."
import re, sys
from pathlib import Path

name = sys.argv[1]
text = Path(__file__).resolve().parents[1].joinpath('README.md').read_text()
m = re.search(rf'<!-- quickstart: {re.escape(name)} -->\s*```[a-z]*\n(.+?)\n```', text, re.S)
if not m: sys.exit(f"README.md: no command after '<!-- quickstart: {name} -->'")
print(m.group(1).strip())
