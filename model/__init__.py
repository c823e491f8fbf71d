"""The character models' maths in NumPy (alphabet, the assignment's ReLU RNN with exact BPTT, the
LSTM cell and language model), the artifact format they are saved in, and the few NumPy-free
facts that training and the service share (version, limits, BLAS threads)."""
