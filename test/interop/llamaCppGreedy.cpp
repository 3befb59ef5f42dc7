// Greedy decoding in llama.cpp itself, for the interop test (test/interop/llamaCppInterop.test.ts): built against
// the headers of the llama.cpp release that node-llama-cpp's prebuilt libraries come from, linked to those
// libraries. Test code only: nothing here ships.
//
// argv: backend-dir model.gguf control-vector.gguf|- strength n_predict token,token,...
// Prints the generated token ids as a JSON array. The control vector is loaded by llama.cpp's own
// common_control_vector_load and applied to layers 1..n_layer, as llama-cli's --control-vector-scaled does.
#include "common.h"
#include "llama.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

int main(int argc, char ** argv) {
    if (argc != 7) {
        std::fprintf(stderr, "usage: %s backend-dir model.gguf cvec.gguf|- strength n_predict ids\n", argv[0]);
        return 2;
    }
    const std::string cvec = argv[3];
    const float strength = std::strtof(argv[4], nullptr);
    const int n_predict = std::atoi(argv[5]);
    std::vector<llama_token> prompt;
    std::stringstream ids(argv[6]);
    for (std::string id; std::getline(ids, id, ',');) prompt.push_back(std::atoi(id.c_str()));

    llama_log_set([](ggml_log_level level, const char * text, void *) { if (level >= GGML_LOG_LEVEL_ERROR) std::fputs(text, stderr); }, nullptr);
    ggml_backend_load_all_from_path(argv[1]);
    llama_backend_init();
    llama_model_params mparams = llama_model_default_params();
    mparams.n_gpu_layers = 0;
    llama_model * model = llama_model_load_from_file(argv[2], mparams);
    if (!model) { std::fprintf(stderr, "cannot load %s\n", argv[2]); return 1; }
    llama_context_params cparams = llama_context_default_params();
    cparams.n_ctx = 512;
    cparams.n_batch = 512;
    cparams.n_threads = 1;
    cparams.n_threads_batch = 1;
    llama_context * ctx = llama_init_from_model(model, cparams);
    if (!ctx) { std::fprintf(stderr, "cannot create a context\n"); return 1; }

    if (cvec != "-") {
        const common_control_vector_data data = common_control_vector_load({ { strength, cvec } });
        if (data.n_embd == -1) { std::fprintf(stderr, "cannot load control vector %s\n", cvec.c_str()); return 1; }
        if (llama_set_adapter_cvec(ctx, data.data.data(), data.data.size(), data.n_embd, 1, llama_model_n_layer(model)) != 0) {
            std::fprintf(stderr, "cannot apply control vector %s\n", cvec.c_str());
            return 1;
        }
    }

    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
    std::vector<llama_token> out;
    llama_batch batch = llama_batch_get_one(prompt.data(), (int32_t) prompt.size());
    for (int i = 0; i < n_predict; i++) {
        if (llama_decode(ctx, batch) != 0) { std::fprintf(stderr, "decode failed\n"); return 1; }
        const float * logits = llama_get_logits_ith(ctx, -1);
        llama_token best = 0;
        for (llama_token t = 1; t < n_vocab; t++) if (logits[t] > logits[best]) best = t;
        out.push_back(best);
        batch = llama_batch_get_one(&out.back(), 1);
    }
    std::printf("[");
    for (size_t i = 0; i < out.size(); i++) std::printf("%s%d", i ? "," : "", out[i]);
    std::printf("]\n");
    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
