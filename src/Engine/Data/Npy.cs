using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;

namespace InfoGpu.Data;

/// <summary>A numeric array read from a NumPy <c>.npy</c> file: its values as float64, row-major (C order), and its shape.</summary>
/// <param name="Values">The values in C order.</param>
/// <param name="Shape">The dimensions (empty for a scalar).</param>
public sealed record NpyArray(double[] Values, long[] Shape);

/// <summary>
/// NumPy's <c>.npy</c> format (versions 1.0 to 3.0) and <c>.npz</c> archives: reading float32,
/// float64, signed and unsigned integer and boolean arrays of any shape (C or Fortran order,
/// little-endian), and writing float32 and float64 arrays. Every size is checked against a cap
/// before anything is allocated; a damaged file is an <see cref="InfoGpuException"/> naming it.
/// Stateless and safe to call from several threads.
/// </summary>
public static partial class Npy
{
    /// <summary>The six bytes every .npy file starts with.</summary>
    public static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>The largest header accepted (numpy writes headers of a few hundred bytes).</summary>
    public const int MaxHeaderBytes = 1 << 16;

    [GeneratedRegex(@"'descr'\s*:\s*'([<>|=])([fiub])(\d+)'")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex OrderPattern();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();

    /// <summary>Reads a .npy file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="maxValues">The most values accepted (checked from the header, before reading them).</param>
    public static NpyArray Read(string path, long maxValues = CsvOptions.DefaultMaxValues)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path))
            throw new InfoGpuException($"cannot read {path}: it is a folder; give a .npy file");
        try
        {
            using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            return Read(s, path, maxValues);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InfoGpuException($"cannot read {path}: {e.Message}");
        }
    }

    /// <summary>Reads a .npy array from a stream positioned at its magic; <paramref name="name"/> names it in errors.</summary>
    public static NpyArray Read(Stream stream, string name, long maxValues = CsvOptions.DefaultMaxValues)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Span<byte> lead = stackalloc byte[8];
        Fill(stream, lead, name, "its first 8 bytes");
        if (!lead[..6].SequenceEqual(Magic))
            throw new InfoGpuException($"{name} is not a .npy file (it does not start with \\x93NUMPY)");
        int major = lead[6];
        int headerLength;
        if (major == 1)
        {
            Span<byte> len = stackalloc byte[2];
            Fill(stream, len, name, "its header length");
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(len);
        }
        else if (major is 2 or 3)
        {
            Span<byte> len = stackalloc byte[4];
            Fill(stream, len, name, "its header length");
            uint l = BinaryPrimitives.ReadUInt32LittleEndian(len);
            if (l > MaxHeaderBytes)
                throw new InfoGpuException($"{name}: .npy header of {l} bytes; at most {MaxHeaderBytes} are read");
            headerLength = (int)l;
        }
        else
        {
            throw new InfoGpuException($"{name}: .npy format version {major}.{lead[7]} is not one this reader knows (1.0 to 3.0)");
        }
        var headerBytes = new byte[headerLength];
        Fill(stream, headerBytes, name, "its header");
        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(headerBytes);

        var descr = DescrPattern().Match(header);
        var order = OrderPattern().Match(header);
        var shapeMatch = ShapePattern().Match(header);
        if (!descr.Success || !order.Success || !shapeMatch.Success)
            throw new InfoGpuException($"{name}: the .npy header is not a simple numeric array ('descr', 'fortran_order' and 'shape' are needed; structured and object arrays are not read)");
        char endian = descr.Groups[1].Value[0], kind = descr.Groups[2].Value[0];
        int size = int.Parse(descr.Groups[3].Value, CultureInfo.InvariantCulture);
        if (endian == '>' && size > 1)
            throw new InfoGpuException($"{name}: the array is big-endian; save it little-endian (e.g. a.astype('<f8'))");
        bool known = (kind, size) is ('f', 4) or ('f', 8) or ('i', 1) or ('i', 2) or ('i', 4) or ('i', 8) or ('u', 1) or ('u', 2) or ('u', 4) or ('u', 8) or ('b', 1);
        if (!known)
            throw new InfoGpuException($"{name}: element type '{endian}{kind}{size}' is not read; give float32, float64, integers or booleans");
        var shape = new List<long>();
        foreach (string part in shapeMatch.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!long.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out long d))
                throw new InfoGpuException($"{name}: shape entry '{part}' is not a dimension");
            shape.Add(d);
        }
        long count = 1;
        foreach (long d in shape)
        {
            if (d != 0 && count > maxValues / d)
                throw new InfoGpuException($"{name}: shape ({string.Join(", ", shape)}) holds more than {maxValues:N0} values, the most read");
            count *= d;
        }
        if (count > maxValues)
            throw new InfoGpuException($"{name}: shape ({string.Join(", ", shape)}) holds {count:N0} values; at most {maxValues:N0} are read");
        long bytes = count * size;
        if (stream.CanSeek && stream.Length - stream.Position < bytes)
            throw new InfoGpuException($"{name} is truncated: its header declares {bytes:N0} bytes of data, the file has {stream.Length - stream.Position:N0}");

        var values = new double[count];
        var buffer = new byte[Math.Max(size, 1 << 16) / size * size];
        long done = 0;
        while (done < count)
        {
            int want = (int)Math.Min(buffer.Length / size, count - done) * size;
            Fill(stream, buffer.AsSpan(0, want), name, FormattableString.Invariant($"its data ({bytes} bytes declared)"));
            for (int i = 0, e = want / size; i < e; i++)
            {
                var b = buffer.AsSpan(i * size, size);
                values[done + i] = (kind, size) switch
                {
                    ('f', 4) => BinaryPrimitives.ReadSingleLittleEndian(b),
                    ('f', 8) => BinaryPrimitives.ReadDoubleLittleEndian(b),
                    ('i', 1) => (sbyte)b[0],
                    ('i', 2) => BinaryPrimitives.ReadInt16LittleEndian(b),
                    ('i', 4) => BinaryPrimitives.ReadInt32LittleEndian(b),
                    ('i', 8) => BinaryPrimitives.ReadInt64LittleEndian(b),
                    ('u', 1) or ('b', 1) => b[0],
                    ('u', 2) => BinaryPrimitives.ReadUInt16LittleEndian(b),
                    ('u', 4) => BinaryPrimitives.ReadUInt32LittleEndian(b),
                    _ => BinaryPrimitives.ReadUInt64LittleEndian(b),
                };
            }
            done += want / size;
        }
        if (order.Groups[1].Value == "True" && shape.Count > 1)
            values = ToRowMajor(values, shape);
        return new NpyArray(values, shape.ToArray());
    }

    /// <summary>Writes a float64 array (C order) as .npy version 1.0.</summary>
    public static void Write(Stream stream, ReadOnlySpan<double> values, params long[] shape)
    {
        WriteHeader(stream, "<f8", values.Length, shape);
        var b = new byte[8];
        foreach (double v in values)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(b, v);
            stream.Write(b);
        }
    }

    /// <summary>Writes a float32 array (C order) as .npy version 1.0.</summary>
    public static void Write(Stream stream, ReadOnlySpan<float> values, params long[] shape)
    {
        WriteHeader(stream, "<f4", values.Length, shape);
        var b = new byte[4];
        foreach (float v in values)
        {
            BinaryPrimitives.WriteSingleLittleEndian(b, v);
            stream.Write(b);
        }
    }

    /// <summary>
    /// Writes float64 arrays as an uncompressed .npz archive (what <c>numpy.load</c> opens as a
    /// dictionary), atomically: a temporary file beside <paramref name="path"/>, then a rename.
    /// </summary>
    public static void WriteNpz(string path, IEnumerable<(string Name, double[] Values, long[] Shape)> arrays)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(arrays);
        string full = Path.GetFullPath(path);
        string tmp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            using (var file = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                using (var zip = new ZipArchive(file, ZipArchiveMode.Create, leaveOpen: true))
                {
                    foreach (var (name, values, shape) in arrays)
                    {
                        using var entry = zip.CreateEntry(name + ".npy", CompressionLevel.NoCompression).Open();
                        Write(entry, values, shape);
                    }
                }
                file.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InfoGpuException($"cannot write {path}: {e.Message}");
        }
        finally
        {
            if (File.Exists(tmp))
                File.Delete(tmp);
        }
    }

    private static void WriteHeader(Stream stream, string descr, long count, long[] shape)
    {
        long expected = 1;
        foreach (long d in shape)
            expected *= d;
        if (expected != count || shape.Any(d => d < 0))
            throw new ArgumentException($"shape ({string.Join(", ", shape)}) does not hold {count} values", nameof(shape));
        string dims = shape.Length == 1 ? $"{shape[0]}," : string.Join(", ", shape);
        string dict = FormattableString.Invariant($"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({dims}), }}");
        // Magic (6) + version (2) + length (2) + dict + padding + '\n', a multiple of 64 bytes.
        int total = (10 + dict.Length + 1 + 63) / 64 * 64;
        string header = dict + new string(' ', total - 10 - dict.Length - 1) + "\n";
        stream.Write(Magic);
        stream.Write([1, 0]);
        var len = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)header.Length);
        stream.Write(len);
        stream.Write(Encoding.Latin1.GetBytes(header));
    }

    private static double[] ToRowMajor(double[] columnMajor, List<long> shape)
    {
        // Fortran order: the first index varies fastest. Walk the C-order index and map it.
        var result = new double[columnMajor.Length];
        int dims = shape.Count;
        var index = new long[dims];
        for (long c = 0; c < result.Length; c++)
        {
            long f = 0, stride = 1;
            for (int d = 0; d < dims; d++)
            {
                f += index[d] * stride;
                stride *= shape[d];
            }
            result[c] = columnMajor[f];
            for (int d = dims - 1; d >= 0; d--)
            {
                if (++index[d] < shape[d])
                    break;
                index[d] = 0;
            }
        }
        return result;
    }

    private static void Fill(Stream s, Span<byte> buffer, string name, string what) => IdxFile.ReadExactly(s, buffer, name, what);
}
