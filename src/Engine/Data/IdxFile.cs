using System.Buffers.Binary;
using System.IO.Compression;

namespace InfoGpu.Data;

/// <summary>
/// Reader of the IDX format of MNIST-style datasets (raw or gzip): images (magic 0x00000803,
/// unsigned bytes, count x rows x cols) and labels (magic 0x00000801, count). Every defect is
/// a one-line <see cref="InfoGpuException"/> naming the file and what is wrong.
/// </summary>
public static class IdxFile
{
    private const int ImageMagic = 0x00000803;
    private const int LabelMagic = 0x00000801;

    /// <summary>The largest image count accepted (guards against a corrupt header asking for terabytes).</summary>
    private const long MaxBytes = 1L << 31;

    /// <summary>Reads images (and labels, when given), keeping the first <paramref name="limit"/> when set.</summary>
    public static ImageSet ReadImages(string imagesPath, string? labelsPath = null, int? limit = null)
    {
        ArgumentNullException.ThrowIfNull(imagesPath);
        using var stream = Open(imagesPath);
        return ReadImages(stream, imagesPath, labelsPath is null ? null : ReadLabels(labelsPath), limit);
    }

    /// <summary>Reads images from a stream (raw or gzip); <paramref name="name"/> names it in errors.</summary>
    public static ImageSet ReadImages(Stream stream, string name, byte[]? labels = null, int? limit = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var input = Decompressed(stream, name);
        Span<byte> header = stackalloc byte[16];
        ReadExactly(input, header, name, "header");
        int magic = BinaryPrimitives.ReadInt32BigEndian(header);
        if (magic == LabelMagic)
            throw new InfoGpuException($"{name} is an IDX label file, not an image file; pass the *-images-idx3-ubyte file");
        if (magic != ImageMagic)
            throw new InfoGpuException($"{name} is not an IDX image file: magic number 0x{magic:X8}, expected 0x{ImageMagic:X8}");
        int count = BinaryPrimitives.ReadInt32BigEndian(header[4..]);
        int rows = BinaryPrimitives.ReadInt32BigEndian(header[8..]);
        int cols = BinaryPrimitives.ReadInt32BigEndian(header[12..]);
        if (count < 0 || rows < 1 || cols < 1 || rows > 65536 || cols > 65536 || (long)count * rows * cols > MaxBytes)
            throw new InfoGpuException($"{name}: IDX header has impossible dimensions {count} x {rows} x {cols}");
        if (labels is not null && labels.Length != count)
            throw new InfoGpuException($"{name} has {count} images but its label file has {labels.Length} labels");
        int keep = limit is int l ? Math.Clamp(l, 0, count) : count;
        int pixels = rows * cols;
        long values = (long)keep * pixels;
        CheckMemory(name, keep, rows, cols, values);
        var chunks = ReadChunks(input, values, name, $"pixels (header says {count} images of {rows}x{cols})");
        // The pixels arrived in chunks (no buffer doubling); each is converted and let go, so the
        // peak is the float32 images plus one byte per pixel, never more.
        var images = new float[values];
        long at = 0;
        for (int c = 0; c < chunks.Count; c++)
        {
            var chunk = chunks[c];
            for (int i = 0; i < chunk.Length; i++)
                images[at + i] = chunk[i] / 255f; // exactly byte / 255 in float32, as numpy computes it
            at += chunk.Length;
            chunks[c] = [];
        }
        return new ImageSet(images, keep, rows, cols, labels?.AsSpan(0, keep).ToArray(), name);
    }

    /// <summary>
    /// Refuses, before reading any pixel, images that would not fit in the memory this process may
    /// use (float32 pixels plus the bytes read), naming what to pass instead.
    /// </summary>
    private static void CheckMemory(string name, int keep, int rows, int cols, long values)
    {
        long need = values * (sizeof(float) + 1);
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (available > 0 && need > available)
        {
            long fits = Math.Max(0, available / ((long)rows * cols * (sizeof(float) + 1)));
            throw new InfoGpuException(FormattableString.Invariant(
                $"{name}: {keep} images of {rows}x{cols} need {need / 1e9:F1} GB of memory, more than the {available / 1e9:F1} GB this process may use; load fewer (--limit {fits} or less)"));
        }
    }

    /// <summary>Reads an IDX label file.</summary>
    public static byte[] ReadLabels(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = Open(path);
        return ReadLabels(stream, path);
    }

    /// <summary>Reads labels from a stream (raw or gzip).</summary>
    public static byte[] ReadLabels(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var input = Decompressed(stream, name);
        Span<byte> header = stackalloc byte[8];
        ReadExactly(input, header, name, "header");
        int magic = BinaryPrimitives.ReadInt32BigEndian(header);
        if (magic != LabelMagic)
            throw new InfoGpuException($"{name} is not an IDX label file: magic number 0x{magic:X8}, expected 0x{LabelMagic:X8}");
        int count = BinaryPrimitives.ReadInt32BigEndian(header[4..]);
        if (count < 0)
            throw new InfoGpuException($"{name}: IDX header has an impossible label count {count}");
        return ReadAll(input, count, name, $"labels (header says {count})");
    }

    /// <summary>The path with or without ".gz", whichever exists.</summary>
    public static string? Find(string directory, string baseName)
    {
        foreach (string candidate in new[] { baseName, baseName + ".gz" })
        {
            string p = Path.Combine(directory, candidate);
            if (File.Exists(p))
                return p;
        }
        return null;
    }

    private static FileStream Open(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InfoGpuException($"cannot read {path}: {e.Message}", e);
        }
    }

    /// <summary>Wraps a gzip stream (detected by its 1F 8B signature) or returns the raw stream.</summary>
    private static Stream Decompressed(Stream stream, string name)
    {
        var buffered = new BufferedStream(stream, 1 << 16);
        Span<byte> sig = stackalloc byte[2];
        int got = 0;
        while (got < 2)
        {
            int r = buffered.Read(sig[got..]);
            if (r == 0)
                break;
            got += r;
        }
        if (got < 2)
            throw new InfoGpuException($"{name} is truncated: {got} bytes, shorter than an IDX header");
        var prefix = new MemoryStream(sig[..got].ToArray());
        var joined = new ConcatStream(prefix, buffered);
        return sig[0] == 0x1F && sig[1] == 0x8B ? new GZipStream(joined, CompressionMode.Decompress) : joined;
    }

    /// <summary>
    /// Reads exactly <paramref name="length"/> bytes as a list of chunks of at most 16 MiB, allocated
    /// only as data arrives, so a corrupt header that promises gigabytes fails as "truncated"
    /// instead of allocating them.
    /// </summary>
    private static List<byte[]> ReadChunks(Stream s, long length, string name, string what)
    {
        const int ChunkBytes = 1 << 24;
        var chunks = new List<byte[]>();
        long total = 0;
        try
        {
            while (total < length)
            {
                var chunk = new byte[(int)Math.Min(ChunkBytes, length - total)];
                int filled = 0;
                while (filled < chunk.Length)
                {
                    int r = s.Read(chunk, filled, Math.Min(chunk.Length - filled, 1 << 16));
                    if (r == 0)
                        break;
                    filled += r;
                }
                total += filled;
                if (filled < chunk.Length)
                    break;
                chunks.Add(chunk);
            }
        }
        catch (InvalidDataException e)
        {
            throw new InfoGpuException($"{name} is corrupt: the gzip stream is damaged ({e.Message})", e);
        }
        if (total < length)
            throw new InfoGpuException($"{name} is truncated: {total} of {length} bytes of its {what}");
        return chunks;
    }

    /// <summary><see cref="ReadChunks"/> as one array.</summary>
    private static byte[] ReadAll(Stream s, long length, string name, string what)
    {
        var chunks = ReadChunks(s, length, name, what);
        if (chunks.Count == 1)
            return chunks[0];
        var all = new byte[length];
        long at = 0;
        foreach (var c in chunks)
        {
            c.CopyTo(all, at);
            at += c.Length;
        }
        return all;
    }

    /// <summary>Fills <paramref name="buffer"/> from the stream; a short or damaged stream is an <see cref="InfoGpuException"/> naming <paramref name="name"/> and <paramref name="what"/> was being read.</summary>
    internal static void ReadExactly(Stream s, Span<byte> buffer, string name, string what)
    {
        int total = 0;
        try
        {
            while (total < buffer.Length)
            {
                int r = s.Read(buffer[total..]);
                if (r == 0)
                    break;
                total += r;
            }
        }
        catch (InvalidDataException e)
        {
            throw new InfoGpuException($"{name} is corrupt: the gzip stream is damaged ({e.Message})", e);
        }
        if (total < buffer.Length)
            throw new InfoGpuException($"{name} is truncated: {total} of {buffer.Length} bytes of its {what}");
    }

    /// <summary>Two streams read one after the other (the sniffed prefix, then the rest).</summary>
    private sealed class ConcatStream(Stream first, Stream second) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int r = first.Read(buffer);
            return r > 0 ? r : second.Read(buffer);
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                first.Dispose();
                second.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
