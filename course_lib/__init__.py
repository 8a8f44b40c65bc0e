"""course_lib: the helpers shared by the notebooks of "Recurrent Networks with Keras 3".

One module per concept — import the one you need, e.g. ``from course_lib import data, scratch``:

runtime (seed, profile, device report, cuDNN eligibility) · data (registry, checksummed files,
loaders) · synthetic (adding/copy/echo, date and reversal tasks) · text (vocabularies, LM windows,
teacher-forcing batches) · scratch (NumPy RNN/LSTM/GRU forward and BPTT) · models (builders) ·
layers (attention) · seq2seq (encoder–decoder) · training (gradient-norm logging, state resets,
cell comparison, scheduled sampling) · forecast (windows, baselines) · decoding (sampling, greedy,
beam search) · metrics (perplexity, exact match, BLEU) · plotting · checks (exercises)
"""

__version__ = "0.1.0"
