"""teaching: pictures and text that show the chain rule at work.

labels (names, numbers, expressions) <- analysis (one walk: values, gradients, edge partials,
from the lowered program's own sweep) <- steps (the forward, backward and path steps, each a
line with its node or edge) and dot (DOT text, files, Graphviz) <- explain (text) and page
(the stepping page: one HTML file) <- show (notebook output).
"""
