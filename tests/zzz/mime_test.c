/* Tests of a file's type from its name (zzz/src/http/mime.c): the
 * built-in table of mime_table.h, its order and charset rule, and the
 * name rules. Every name is copied into a heap buffer of exactly its
 * length, so a sanitizer build catches any read past the bytes given.
 * Built into one program with static_rules_test.c. */
#include "mime_table.h"
#include "static_rules.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An exact-size heap copy (malloc(0) may be NULL: give one byte then). */
static char *copy_of(const char *s, size_t len)
{
    char *p = malloc(len ? len : 1);
    cr_assert(p);
    memcpy(p, s, len);
    return p;
}

static const char *mime(const char *name)
{
    char *buf = copy_of(name, strlen(name));
    const char *type = zzz_http_mime_type(buf, strlen(name), NULL);
    free(buf);
    return type;
}

#define EXPECT_TYPE(name, want) cr_expect_str_eq(mime(name), want, "type of \"%s\"", name)

/* ---- types ---- */

#define OCTETS "application/octet-stream"
#define U8 "; charset=utf-8"

Test(mime, table_sorted_lower_case_and_reachable)
{
    cr_expect_eq(zzz_http_mime_count(), MIME_TABLE_COUNT);
    cr_expect_geq(MIME_TABLE_COUNT, 120);
    for (size_t i = 0; i < MIME_TABLE_COUNT; i++) {
        const char *ext = mime_table[i].ext;
        if (i > 0)
            cr_expect_lt(strcmp(mime_table[i - 1].ext, ext), 0, "\"%s\" then \"%s\"",
                         mime_table[i - 1].ext, ext);
        cr_expect(strlen(ext) >= 1 && strlen(ext) <= MIME_EXT_MAX, "\"%s\"", ext);
        for (const char *c = ext; *c; c++)
            cr_expect((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9'), "\"%s\"", ext);
        char name[40];
        snprintf(name, sizeof name, "file.%s", ext);
        cr_expect_str_eq(mime(name), mime_table[i].type, "%s", name);
    }
}

/* The charset rule of mime_table.h, over the whole table. */
Test(mime, charset_rule)
{
    for (size_t i = 0; i < MIME_TABLE_COUNT; i++) {
        const char *type = mime_table[i].type;
        const char *semi = strchr(type, ';');
        size_t base = semi ? (size_t)(semi - type) : strlen(type);
        cr_expect(strchr(type, '/') != NULL && strchr(type, ' ') == (semi ? semi + 1 : NULL), "%s",
                  type);
        bool text = strncmp(type, "text/", 5) == 0 ||
                    (base >= 5 && (memcmp(type + base - 5, "+json", 5) == 0 ||
                                   memcmp(type + base - 4, "+xml", 4) == 0)) ||
                    (base == 16 && memcmp(type, "application/json", 16) == 0) ||
                    (base == 15 && memcmp(type, "application/xml", 15) == 0);
        if (text)
            cr_expect_str_eq(type + base, U8, "%s", type);
        else
            cr_expect_null(semi, "%s", type);
    }
}

Test(mime, groups)
{
    /* "name type" pairs; '*' stands for "; charset=utf-8" */
    static const char cases[] =
        "index.html text/html* a.htm text/html* site.css text/css* app.js text/javascript* "
        "mod.mjs text/javascript* cjs.cjs text/javascript* data.json application/json* "
        "app.js.map application/json* feed.xml application/xml* notes.txt text/plain* "
        "t.csv text/csv* README.md text/markdown* logo.svg image/svg+xml* "
        "app.wasm application/wasm site.webmanifest application/manifest+json* f.woff font/woff "
        "f.woff2 font/woff2 f.ttf font/ttf f.otf font/otf f.eot application/vnd.ms-fontobject "
        "i.png image/png i.jpg image/jpeg i.jpeg image/jpeg i.gif image/gif i.webp image/webp "
        "i.avif image/avif favicon.ico image/vnd.microsoft.icon i.bmp image/bmp i.tif image/tiff "
        "i.tiff image/tiff i.heic image/heic i.jxl image/jxl i.apng image/apng s.mp3 audio/mpeg "
        "s.ogg audio/ogg s.oga audio/ogg s.opus audio/ogg s.wav audio/wav s.flac audio/flac "
        "s.aac audio/aac s.m4a audio/mp4 s.weba audio/webm s.mid audio/midi v.mp4 video/mp4 "
        "v.webm video/webm v.ogv video/ogg v.mov video/quicktime v.m4v video/mp4 "
        "v.mkv video/matroska v.avi video/x-msvideo v.mpeg video/mpeg seg.ts video/mp2t "
        "doc.pdf application/pdf a.zip application/zip a.gz application/gzip "
        "a.tgz application/gzip a.bz2 application/x-bzip2 a.xz application/x-xz "
        "a.zst application/zstd a.7z application/x-7z-compressed a.rar application/vnd.rar "
        "a.tar application/x-tar "
        "d.docx application/vnd.openxmlformats-officedocument.wordprocessingml.document "
        "d.xlsx application/vnd.openxmlformats-officedocument.spreadsheetml.sheet "
        "d.pptx application/vnd.openxmlformats-officedocument.presentationml.presentation "
        "d.odt application/vnd.oasis.opendocument.text d.doc application/msword "
        "b.epub application/epub+zip c.ics text/calendar* c.vtt text/vtt* "
        "c.srt application/x-subrip feed.rss application/rss+xml* "
        "feed.atom application/atom+xml* c.yaml application/yaml c.yml application/yaml "
        "c.toml application/toml p.xhtml application/xhtml+xml* ";
    char name[40], type[96];
    int used;
    size_t checked = 0;
    for (const char *p = cases; sscanf(p, "%39s %95s %n", name, type, &used) == 2; p += used) {
        checked++;
        size_t n = strlen(type);
        if (type[n - 1] == '*')
            snprintf(type + n - 1, sizeof type - n + 1, "%s", U8);
        EXPECT_TYPE(name, type);
    }
    cr_expect_eq(checked, 77);
}

Test(mime, names)
{
    EXPECT_TYPE("INDEX.HTML", "text/html" U8);         /* case */
    EXPECT_TYPE("a.Js", "text/javascript" U8);         /* mixed case */
    EXPECT_TYPE("a.WOFF2", "font/woff2");              /* digits and case */
    EXPECT_TYPE("archive.tar.gz", "application/gzip"); /* last dot counts */
    EXPECT_TYPE("jquery.min.js", "text/javascript" U8);
    EXPECT_TYPE("a.js.unknown", OCTETS);
    EXPECT_TYPE(".bashrc", OCTETS); /* a leading dot is no extension */
    EXPECT_TYPE(".html", OCTETS);
    EXPECT_TYPE("dir/.html", OCTETS);
    EXPECT_TYPE("..html", "text/html" U8); /* a second dot is */
    EXPECT_TYPE(".config.json", "application/json" U8);
    EXPECT_TYPE("file.", OCTETS); /* trailing dot */
    EXPECT_TYPE("file..", OCTETS);
    EXPECT_TYPE(".", OCTETS);
    EXPECT_TYPE("..", OCTETS);
    EXPECT_TYPE("", OCTETS);
    EXPECT_TYPE("Makefile", OCTETS);
    EXPECT_TYPE("v1.2/README", OCTETS); /* a dot in a directory is not */
    EXPECT_TYPE("a.b/c.css", "text/css" U8);
    EXPECT_TYPE("dir/", OCTETS);
    EXPECT_TYPE("a.htmlx", OCTETS); /* whole extension only */
    EXPECT_TYPE("a.htm ", OCTETS);
    EXPECT_TYPE("a.h", OCTETS);
    EXPECT_TYPE("a.abcdefghijklmnop", OCTETS);  /* 16: looked up, unknown */
    EXPECT_TYPE("a.abcdefghijklmnopq", OCTETS); /* 17: never looked up */
    EXPECT_TYPE("a.webmanifest", "application/manifest+json" U8);
    EXPECT_TYPE("a.\xc3\xa9", OCTETS);
    /* a NUL inside the extension does not cut it short */
    cr_expect_str_eq(zzz_http_mime_type("a.css\0x", 7, NULL), OCTETS);
    cr_expect_str_eq(zzz_http_mime_type("a.c\0ss", 6, NULL), OCTETS);
    /* only len bytes count */
    cr_expect_str_eq(zzz_http_mime_type("a.cssx", 5, NULL), "text/css" U8);
    cr_expect_str_eq(zzz_http_mime_type(NULL, 0, NULL), OCTETS);
}

Test(mime, extra_types)
{
    static const zzz_mime_type extra[] = {
        {"js", "application/x-custom"}, /* overrides the table */
        {"Foo", "application/foo"},     /* extends it, any case */
        {"averyveryverylongextension", "application/long"},
        {"skip", NULL}, /* no type: ignored */
        {NULL, NULL},
        {"after", "application/after"}, /* past the end: never read */
    };
    cr_expect_str_eq(zzz_http_mime_type("a.JS", 4, extra), "application/x-custom");
    cr_expect_str_eq(zzz_http_mime_type("a.fOO", 5, extra), "application/foo");
    cr_expect_str_eq(zzz_http_mime_type("a.fo", 4, extra), OCTETS);
    cr_expect_str_eq(zzz_http_mime_type("a.fooo", 6, extra), OCTETS);
    cr_expect_str_eq(zzz_http_mime_type("a.css", 5, extra), "text/css" U8);
    cr_expect_str_eq(zzz_http_mime_type("a.skip", 6, extra), OCTETS);
    cr_expect_str_eq(zzz_http_mime_type("a.after", 7, extra), OCTETS);
    const char *longname = "a.averyveryverylongextension";
    cr_expect_str_eq(zzz_http_mime_type(longname, strlen(longname), extra), "application/long");
    static const zzz_mime_type empty[] = {{NULL, NULL}};
    cr_expect_str_eq(zzz_http_mime_type("a.css", 5, empty), "text/css" U8);
}
