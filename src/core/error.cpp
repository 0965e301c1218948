#include "core/error.h"

namespace lyra {

const char* error_kind_name(ErrorKind kind) {
    switch (kind) {
        case ErrorKind::InvalidArgument: return "invalid argument";
        case ErrorKind::Usage: return "usage";
        case ErrorKind::NotFound: return "not found";
        case ErrorKind::Corrupt: return "corrupt";
        case ErrorKind::Unsupported: return "unsupported";
        case ErrorKind::Io: return "i/o";
        case ErrorKind::ContextFull: return "context full";
    }
    return "error";
}

void rethrow_with_context(const Error& e, const std::string& context) {
    throw Error(e.kind(), context + ": " + e.what());
}

}  // namespace lyra
