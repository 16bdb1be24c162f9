"""teaching: pictures and text that show the chain rule at work.

labels (names, numbers, expressions) <- analysis (one walk: values, gradients, edge partials,
from the lowered program's own sweep) <- dot (DOT text, files, Graphviz) and explain (text)
<- show (notebook output).
"""
