/* The character classes of HTTP/1.1's grammar (RFC 9110, 9112, 3986),
 * shared by the head parser (parse.c, with fields.c, target.c and the
 * helpers of scan.h) and the chunked decoder (chunked.c). One table,
 * built by the preprocessor from the grammar's definitions, so each hot
 * loop costs a load and a test per byte. It is static: each file that
 * includes this has its own copy, which its loops address directly. Not
 * installed. */
#ifndef ZZZ_HTTP_CHARS_H
#define ZZZ_HTTP_CHARS_H

enum {
    C_TCHAR = 1 << 0,  /* token characters (RFC 9110 5.6.2) */
    C_TARGET = 1 << 1, /* request-target bytes scanned in bulk: VCHAR but '?', '#' */
    C_VALUE = 1 << 2,  /* field-value bytes: VCHAR, obs-text, SP, HTAB */
    C_HOST = 1 << 3,   /* bytes of uri-host [":" port], IP literals included */
    C_HEX = 1 << 4,    /* HEXDIG */
    C_QDTEXT = 1 << 5, /* quoted-string text (RFC 9110 5.6.4) */
    C_SCHEME = 1 << 6, /* URI scheme characters after the first */
    C_DIGIT = 1 << 7,
};

#define IS_ALPHA(c) (((c) >= 'A' && (c) <= 'Z') || ((c) >= 'a' && (c) <= 'z'))
#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define IS_VCHAR(c) ((c) >= 0x21 && (c) <= 0x7E)
#define IS_TCHAR(c)                                                                                \
    (IS_ALPHA(c) || IS_DIGIT(c) || (c) == '!' || (c) == '#' || (c) == '$' || (c) == '%' ||         \
     (c) == '&' || (c) == '\'' || (c) == '*' || (c) == '+' || (c) == '-' || (c) == '.' ||          \
     (c) == '^' || (c) == '_' || (c) == '`' || (c) == '|' || (c) == '~')
#define IS_HOST(c)                                                                                 \
    (IS_ALPHA(c) || IS_DIGIT(c) || (c) == '-' || (c) == '.' || (c) == '_' || (c) == '~' ||         \
     (c) == '!' || (c) == '$' || (c) == '&' || (c) == '\'' || (c) == '(' || (c) == ')' ||          \
     (c) == '*' || (c) == '+' || (c) == ',' || (c) == ';' || (c) == '=' || (c) == '%' ||           \
     (c) == ':' || (c) == '[' || (c) == ']')
#define IS_HEX(c) (IS_DIGIT(c) || ((c) >= 'A' && (c) <= 'F') || ((c) >= 'a' && (c) <= 'f'))
#define IS_OBS_TEXT(c) ((c) >= 0x80)

#define CLS(c)                                                                                     \
    ((IS_TCHAR(c) ? C_TCHAR : 0) | (IS_VCHAR(c) && (c) != '?' && (c) != '#' ? C_TARGET : 0) |      \
     (IS_VCHAR(c) || IS_OBS_TEXT(c) || (c) == ' ' || (c) == '\t' ? C_VALUE : 0) |                  \
     (IS_HOST(c) ? C_HOST : 0) | (IS_HEX(c) ? C_HEX : 0) |                                         \
     ((c) == '\t' || (c) == ' ' || (c) == 0x21 || ((c) >= 0x23 && (c) <= 0x5B) ||                  \
              ((c) >= 0x5D && (c) <= 0x7E) || IS_OBS_TEXT(c)                                       \
          ? C_QDTEXT                                                                               \
          : 0) |                                                                                   \
     (IS_ALPHA(c) || IS_DIGIT(c) || (c) == '+' || (c) == '-' || (c) == '.' ? C_SCHEME : 0) |       \
     (IS_DIGIT(c) ? C_DIGIT : 0))
#define CLS4(c) CLS(c), CLS((c) + 1), CLS((c) + 2), CLS((c) + 3)
#define CLS16(c) CLS4(c), CLS4((c) + 4), CLS4((c) + 8), CLS4((c) + 12)
#define CLS64(c) CLS16(c), CLS16((c) + 16), CLS16((c) + 32), CLS16((c) + 48)

static const unsigned char cls[256] = {CLS64(0), CLS64(64), CLS64(128), CLS64(192)};

/* ASCII lower case of any byte, without locale. */
#define LOWER(c) ((unsigned char)((c) >= 'A' && (c) <= 'Z' ? (c) | 0x20 : (c)))
/* The value of a byte known to be a HEXDIG. */
#define HEXVAL(c) ((unsigned)(((c)&0xF) + ((c) >> 6) * 9))

#endif
