"""course_lib: the helpers shared by the notebooks of "Recurrent Networks with Keras 3".

One module per concept — import the one you need, e.g. ``from course_lib import data, scratch``:

runtime (seed, profile, device report, cuDNN eligibility) · data (registry, checksummed files,
loaders) · synthetic (adding/copy/echo tasks) · text (vocabularies, LM windows) · scratch (NumPy
RNN/LSTM/GRU forward and BPTT) · models (builders) · training (gradient-norm logging, state
resets, cell comparison) · forecast (windows, baselines) · decoding (sampling) · metrics
(perplexity) · plotting · checks (exercises)
"""

__version__ = "0.1.0"
