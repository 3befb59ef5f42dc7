// llama.cpp's own tokenizer, for comparing the tokenizer Persona Lens rebuilds from a GGUF's metadata
// (test/interop/llamaCppTokenizer.test.ts): the model is loaded vocab-only, as llama-tokenize can.
// Test code only: nothing here ships.
//
// argv: backend-dir vocab.gguf. stdin: texts, each as "<byte length>\n<bytes>". For each text, two lines of JSON
// token ids: llama_tokenize with add_special off, then on; parse_special on both times (as for a chat prompt).
#include "llama.h"

#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

int main(int argc, char ** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s backend-dir vocab.gguf < texts\n", argv[0]);
        return 2;
    }
    llama_log_set([](ggml_log_level level, const char * text, void *) { if (level >= GGML_LOG_LEVEL_ERROR) std::fputs(text, stderr); }, nullptr);
    ggml_backend_load_all_from_path(argv[1]);
    llama_backend_init();
    llama_model_params mparams = llama_model_default_params();
    mparams.vocab_only = true;
    llama_model * model = llama_model_load_from_file(argv[2], mparams);
    if (!model) { std::fprintf(stderr, "cannot load %s\n", argv[2]); return 1; }
    const llama_vocab * vocab = llama_model_get_vocab(model);
    const std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    for (size_t pos = 0; pos < input.size();) {
        const size_t newline = input.find('\n', pos);
        if (newline == std::string::npos) { std::fprintf(stderr, "bad input at byte %zu\n", pos); return 1; }
        const size_t length = std::stoul(input.substr(pos, newline - pos));
        const std::string text = input.substr(newline + 1, length);
        pos = newline + 1 + length;
        for (const bool add_special : { false, true }) {
            std::vector<llama_token> ids(text.size() + 8);
            const int n = llama_tokenize(vocab, text.data(), (int) text.size(), ids.data(), (int) ids.size(), add_special, true);
            if (n < 0) { std::fprintf(stderr, "llama_tokenize failed\n"); return 1; }
            std::printf("[");
            for (int i = 0; i < n; i++) std::printf(i ? ",%d" : "%d", ids[i]);
            std::printf("]\n");
        }
    }
    return 0;
}
