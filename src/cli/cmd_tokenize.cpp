// `lyra tokenize -m MODEL.gguf -p TEXT [--ids-only] [--json]`: prints the token ids of TEXT
// under the model's vocabulary, each with its piece. Opens only the GGUF metadata (no weights
// are touched) and builds the Tokenizer from tokenizer.ggml.*.
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "core/mmap.h"
#include "model/format/gguf.h"
#include "model/tokenizer/tokenizer.h"

namespace lyra::cli {
namespace {

struct TokenizeOptions {
    std::string model;
    std::string prompt;
    std::string file;
    bool ids_only = false;
    bool json = false;
    bool no_bos = false;
    bool parse_special = false;
};

// A piece's bytes for a terminal: printable UTF-8 as is; control bytes and bytes that are not
// part of a valid UTF-8 sequence as C escapes (\n, \t, \xNN).
std::string printable(const std::string& bytes) {
    std::string out;
    for (size_t i = 0; i < bytes.size();) {
        auto c = static_cast<unsigned char>(bytes[i]);
        size_t n = c < 0x80                   ? 1
                   : (c >= 0xC2 && c <= 0xDF) ? 2
                   : (c >= 0xE0 && c <= 0xEF) ? 3
                   : (c >= 0xF0 && c <= 0xF4) ? 4
                                              : 0;
        bool ok = n > 0 && i + n <= bytes.size();
        for (size_t k = 1; ok && k < n; ++k)
            ok = (static_cast<unsigned char>(bytes[i + k]) & 0xC0) == 0x80;
        if (!ok) {
            out += fmt::format("\\x{:02X}", c);
            ++i;
        } else if (c == '\n') {
            out += "\\n", ++i;
        } else if (c == '\t') {
            out += "\\t", ++i;
        } else if (c == '\r') {
            out += "\\r", ++i;
        } else if (c == '\\') {
            out += "\\\\", ++i;
        } else if (c < 0x20 || c == 0x7F) {
            out += fmt::format("\\x{:02X}", c);
            ++i;
        } else {
            out.append(bytes, i, n);
            i += n;
        }
    }
    return out;
}

void run_tokenize(const TokenizeOptions& o) {
    if (!std::filesystem::is_regular_file(o.model))
        throw_error(ErrorKind::NotFound, "model '{}': no such file; expected a GGUF file", o.model);
    std::string text = o.prompt;
    if (!o.file.empty()) {
        if (!std::filesystem::is_regular_file(o.file))
            throw_error(ErrorKind::NotFound, "-f '{}': no such file", o.file);
        text = core::read_file(o.file);
    }
    const auto gguf = model::GgufFile::open(o.model);
    const auto tok = model::Tokenizer::from_gguf(*gguf);
    const auto ids = tok->encode(text, !o.no_bos, o.parse_special);

    if (o.json) {
        nlohmann::json j;
        j["model"] = o.model;
        j["kind"] = tok->kind();
        j["n_tokens"] = ids.size();
        j["ids"] = ids;
        nlohmann::json pieces = nlohmann::json::array();
        for (model::TokenId id : ids) pieces.push_back(tok->token_to_bytes(id));
        j["pieces"] = pieces;
        // Byte tokens may hold partial UTF-8: those bytes become U+FFFD in the JSON string.
        std::puts(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
        return;
    }
    if (o.ids_only) {
        std::string line;
        for (size_t i = 0; i < ids.size(); ++i) line += fmt::format("{}{}", i ? " " : "", ids[i]);
        std::puts(line.c_str());
        return;
    }
    for (model::TokenId id : ids)
        std::printf("%7d -> '%s'\n", id, printable(tok->token_to_bytes(id)).c_str());
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
    auto opts = std::make_shared<TokenizeOptions>();
    auto* cmd =
        app.add_subcommand("tokenize", "Show the token ids of a text under a model's vocabulary");
    cmd->add_option("-m,--model", opts->model, "GGUF file whose tokenizer to use")->required();
    auto* p = cmd->add_option("-p,--prompt", opts->prompt, "Text to tokenize");
    auto* f = cmd->add_option("-f,--file", opts->file, "Read the text from a file instead");
    p->excludes(f);
    cmd->add_flag("--ids-only", opts->ids_only, "Print only the ids, space-separated");
    cmd->add_flag("--json", opts->json, "Print one JSON object: ids and pieces");
    cmd->add_flag("--no-bos", opts->no_bos, "Do not add BOS/EOS even if the vocabulary wants them");
    cmd->add_flag("--parse-special", opts->parse_special,
                  "Text such as <|im_start|> becomes its control token");
    cmd->callback([opts, p, f] {
        if (p->count() + f->count() != 1)
            throw_error(ErrorKind::Usage, "tokenize: give the text as -p TEXT or -f FILE");
        run_tokenize(*opts);
    });
}

}  // namespace lyra::cli
