// Quantizes float rows with llama.cpp's reference K-quant quantizers (ggml-quants.c,
// quantize_row_q{4,5,6}_K_ref, linked from libggml-base.a): reads "<type> <rows> <cols>" as
// three little-endian uint32 then rows*cols float32 on stdin, writes the blocks on stdout.
// Built and run by tools/make_ggml_quantize_goldens.py.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

void quantize_row_q4_K_ref(const float* x, void* y, int64_t k);
void quantize_row_q5_K_ref(const float* x, void* y, int64_t k);
void quantize_row_q6_K_ref(const float* x, void* y, int64_t k);

int main(void) {
  uint32_t header[3];
  if (fread(header, 4, 3, stdin) != 3) return 1;
  const uint32_t type = header[0], rows = header[1], cols = header[2];
  size_t block_bytes;
  void (*quantize)(const float*, void*, int64_t);
  switch (type) {
    case 12: quantize = quantize_row_q4_K_ref; block_bytes = 144; break;
    case 13: quantize = quantize_row_q5_K_ref; block_bytes = 176; break;
    case 14: quantize = quantize_row_q6_K_ref; block_bytes = 210; break;
    default: return 2;
  }
  const size_t row_bytes = cols / 256 * block_bytes;
  float* x = malloc(sizeof(float) * cols);
  unsigned char* y = malloc(row_bytes);
  for (uint32_t r = 0; r < rows; ++r) {
    if (fread(x, sizeof(float), cols, stdin) != cols) return 3;
    quantize(x, y, cols);
    fwrite(y, 1, row_bytes, stdout);
  }
  return 0;
}
