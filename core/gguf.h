/* core/gguf.h — a reader for GGUF version 3 model files (llama.cpp's format).
 *
 * gguf_open maps the file read-only; gguf_open_mem reads a buffer the caller keeps alive.
 * Every count, length, offset, dimension, type and the alignment is checked before it is
 * used (no count allocates more than the file could hold; no two tensors overlap; no key
 * twice; the standard keys termloom reads must have the specification's type): a
 * malformed file gives NULL and one line in err naming the problem (names from the file
 * shown with control characters made visible), never a crash.
 * After a successful open, metadata values and tensor data are plain pointers into the
 * mapping (valid until gguf_close).  Tensor types read: F32, F16 and Q8_0. */
#ifndef CORE_GGUF_H
#define CORE_GGUF_H
#include <stddef.h>
#include <stdint.h>

typedef enum {
    GGUF_U8 = 0, GGUF_I8, GGUF_U16, GGUF_I16, GGUF_U32, GGUF_I32, GGUF_F32, GGUF_BOOL,
    GGUF_STRING, GGUF_ARRAY, GGUF_U64, GGUF_I64, GGUF_F64, GGUF_NTYPES
} gguf_type;

enum { GGUF_T_F32 = 0, GGUF_T_F16 = 1, GGUF_T_Q8_0 = 8 };   /* ggml tensor types */
#define GGUF_MAX_DIMS 4
#define GGUF_Q8_0_BLOCK 32                                   /* values per Q8_0 block */
#define GGUF_Q8_0_BYTES 34                                   /* f16 scale + 32 int8 */

typedef struct { const char *s; size_t len; } gguf_str;     /* not NUL-terminated */

typedef struct {
    gguf_str    name;
    uint32_t    ndims;
    uint64_t    ne[GGUF_MAX_DIMS];   /* ne[0] is the row length; unused dims are 1 */
    uint32_t    type;                /* GGUF_T_* */
    const void *data;
    size_t      nbytes;
} gguf_tensor;

typedef struct gguf gguf;

gguf *gguf_open(const char *path, char *err, size_t errlen);
gguf *gguf_open_mem(const void *data, size_t size, char *err, size_t errlen);
void  gguf_close(gguf *g);

/* Metadata.  The getters return 0 when the key exists with a fitting type, else -1. */
int gguf_get_uint(const gguf *g, const char *key, uint64_t *out);    /* any unsigned/ >= 0 int */
int gguf_get_float(const gguf *g, const char *key, double *out);     /* F32/F64 or integer */
int gguf_get_bool(const gguf *g, const char *key, int *out);
int gguf_get_str(const gguf *g, const char *key, gguf_str *out);
/* Array of strings: *n items in *out (owned by g). */
int gguf_get_str_array(const gguf *g, const char *key, const gguf_str **out, size_t *n);
/* Array of integers or floats: element type, count and raw little-endian data. */
int gguf_get_array(const gguf *g, const char *key, gguf_type *type, const void **data, size_t *n);

size_t             gguf_tensor_count(const gguf *g);
const gguf_tensor *gguf_tensor_at(const gguf *g, size_t i);
const gguf_tensor *gguf_find_tensor(const gguf *g, const char *name);
const char        *gguf_type_name(uint32_t type);

float gguf_f16_to_f32(uint16_t h);
#endif
