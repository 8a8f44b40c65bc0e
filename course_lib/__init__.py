"""course_lib: the helpers shared by the notebooks of "Recurrent Networks with Keras 3".

One module per concept — import the one you need, e.g. ``from course_lib import data, scratch``:

runtime (seed, profile, device report, result lines, cuDNN eligibility) · data (registry,
checksummed files, loaders) · synthetic (adding/copy/echo, date and reversal tasks) · text
(vocabularies, LM windows, padded and bucketed batches) · scratch (NumPy RNN/LSTM/GRU forward
and BPTT) · models (builders) · layers (attention for recurrent encoder–decoders) · decoding
(the step-wise decoding protocol, sampling, greedy and beam search) · seq2seq (the recurrent
encoder–decoder, scheduled sampling) · transformer (positions, masks, blocks, the
encoder–decoder transformer) · tcn (temporal convolutional network) · comparison (equal-budget
contests, cell comparison, scaling, streaming) · contenders (notebook 07's three date models and
the one learning-rate procedure they are tuned by) · scan (linear recurrences by a parallel
scan, also in log space) · minimal_rnn (minGRU, minLSTM, diagonal and selective linear RNN
layers) · distribute (data-parallel and multi-worker training checked on one machine) ·
serving (a char LM's step exported to SavedModel and TFLite) · training (the fast path's
compile settings, callbacks, gradient-norm logging, progress lines, state resets) ·
optimizers (Adam, AdamW, RMSprop right for an Embedding's sparse gradient) · forecast
(windows, baselines) · metrics (perplexity, exact match, BLEU, chrF) ·
plotting · checks (exercises and their answer key) · bench (training throughput)

House rules for the modules (what a new one follows):

- **Imports.** ``import keras`` (and NumPy) at the top of the module; ``keras.ops`` before
  ``tf.*``, TensorFlow only where Keras has no equivalent (``tf.data``, ``tf.GradientTape``,
  ``tf.function``). Lazy imports inside functions only where a module must stay importable
  without starting TensorFlow — ``runtime`` (the tools and the Colab setup read profiles and
  result lines), ``data`` (the registry and files; Keras only for a download), ``checks`` (each
  case generator imports what it checks) — or for an optional extra (``sacrebleu`` in
  ``metrics``); each says so where it happens.
- **Typing.** Annotate public functions; models are ``keras.Model``, layers ``keras.Layer``,
  arrays ``np.ndarray``; shapes go in the docstring: ``x: (batch, time, features) float32``.
- **Surface.** Every module lists its public names in ``__all__``; nothing imports another
  package's ``_private`` names, and nothing uses Keras' private API (tests check both).
"""

__version__ = "0.2.0"
