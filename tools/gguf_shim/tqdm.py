"""The progress bar gguf-py's GGUFWriter asks for (tqdm is not installed here): silent."""


class tqdm:
    def __init__(self, *args, **kwargs):
        self.n = 0

    def update(self, n=1):
        self.n += n

    def set_description(self, *args, **kwargs):
        pass

    def reset(self, total=None):
        self.n = 0

    def close(self):
        pass
