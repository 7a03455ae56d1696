/*
 * ProcessPrng for Wine 8.0 (Debian 12), whose bcryptprimitives.dll lacks
 * it. Rust's standard library (1.78 and later) imports ProcessPrng from
 * bcryptprimitives.dll for every random number it needs, so a Windows
 * program built with Rust does not start on Wine 8.0 at all.
 *
 * This DLL exists for tests under Wine only: it goes into a Wine prefix's
 * system32 (see packaging/windows/README.md), never into the MSI, since
 * every supported Windows (10 and later) has the real one.
 *
 * It fills the buffer from RtlGenRandom (advapi32's SystemFunction036), the
 * system's cryptographic generator, in pieces of at most 2^31 bytes since
 * RtlGenRandom takes a 32-bit length. Like the real ProcessPrng it always
 * returns TRUE; if the generator ever fails, it ends the process rather
 * than hand back bytes that are not random.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG piece = length > 0x80000000u ? 0x80000000u : (ULONG)length;
        if (!SystemFunction036(data, piece)) {
            ExitProcess(0xC000000Eu);
        }
        data += piece;
        length -= piece;
    }
    return TRUE;
}
