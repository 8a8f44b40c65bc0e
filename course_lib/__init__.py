"""course_lib: the helpers shared by the notebooks of "Recurrent Networks with Keras 3".

One module per concept — import the one you need, e.g. ``from course_lib import data, scratch``:

runtime (seed, profile, device report, cuDNN eligibility) · data (registry, checksummed files,
loaders) · synthetic (adding/copy/echo, date and reversal tasks) · text (vocabularies, LM windows,
teacher-forcing batches) · scratch (NumPy RNN/LSTM/GRU forward and BPTT) · models (builders) ·
layers (attention, transformer blocks) · seq2seq (encoder–decoder) · transformer · tcn (temporal
convolutional network) · comparison (equal-budget contests, scaling, streaming) · training (the
fast path, callbacks, gradient-norm logging, state resets, cell comparison, scheduled sampling) ·
forecast (windows, baselines) · decoding (sampling, greedy, beam search) · metrics (perplexity,
exact match, BLEU) · plotting · checks (exercises) · bench (training throughput)
"""

__version__ = "0.2.0"
