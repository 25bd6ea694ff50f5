// libsodium (Debian: libsodium-dev), for its Ed25519 verification: about twice as fast as
// BoringSSL's portable field arithmetic on x86-64 (see AgentID.verify).
#include <sodium.h>
