using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace InfoGpu.Checkpoints;

/// <summary>
/// The safetensors format: an 8-byte little-endian header length, a JSON header (dtype, shape
/// and byte range of each tensor, and string metadata), then the tensor bytes. Files are
/// written to a temporary name, flushed to disk and renamed, so a file on disk is always
/// whole; the metadata carries the SHA-256 of the tensor bytes and of the other metadata, so a
/// flipped byte or a truncated file is reported as corrupt rather than loaded.
/// </summary>
public static class SafeTensors
{
    /// <summary>
    /// The metadata key under which <see cref="Write"/> stores the SHA-256 (lowercase hex) of the
    /// other metadata and of every tensor's name, dtype, shape and bytes; <see cref="Read(string)"/> refuses
    /// a file without it or whose contents do not match it (<see cref="InfoGpuException"/>) and
    /// removes it from the set it returns. A value set by the caller under this key is replaced.
    /// </summary>
    public const string ChecksumKey = "sha256";

    private static readonly Dictionary<string, int> ElementSizes = new(StringComparer.Ordinal)
    {
        ["F32"] = 4, ["F64"] = 8, ["I32"] = 4, ["I64"] = 8, ["U8"] = 1, ["F16"] = 2, ["BF16"] = 2, ["I8"] = 1, ["I16"] = 2, ["U16"] = 2, ["U32"] = 4, ["U64"] = 8, ["BOOL"] = 1,
    };

    /// <summary>Writes the set atomically (temporary file, flush, rename) with its checksum.</summary>
    public static void Write(string path, TensorSet set)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(set);
        var names = set.Tensors.Keys.OrderBy(n => n, StringComparer.Ordinal).ToList();
        var metadata = set.Metadata.Where(kv => kv.Key != ChecksumKey).OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        metadata.Add(new(ChecksumKey, Checksum(names.Select(n => (n, set.Tensors[n])), metadata)));

        using var headerBuffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(headerBuffer))
        {
            w.WriteStartObject();
            w.WriteStartObject("__metadata__");
            foreach (var (k, v) in metadata)
                w.WriteString(k, v);
            w.WriteEndObject();
            long offset = 0;
            foreach (string n in names)
            {
                var t = set.Tensors[n];
                w.WriteStartObject(n);
                w.WriteString("dtype", t.DType);
                w.WriteStartArray("shape");
                foreach (long d in t.Shape)
                    w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + t.Data.LongLength);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += t.Data.LongLength;
            }
            w.WriteEndObject();
        }
        // Pad the header with spaces to a multiple of 8 bytes, as the format recommends.
        while (headerBuffer.Length % 8 != 0)
            headerBuffer.WriteByte((byte)' ');

        string full = Path.GetFullPath(path);
        string? dir = Path.GetDirectoryName(full);
        if (dir is not null)
            Directory.CreateDirectory(dir);
        string tmp = full + ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        try
        {
            using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            {
                Span<byte> len = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)headerBuffer.Length);
                f.Write(len);
                headerBuffer.Position = 0;
                headerBuffer.CopyTo(f);
                foreach (string n in names)
                    f.Write(set.Tensors[n].Data);
                f.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
            RemoveStaleTemporaries(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(tmp);
            throw new InfoGpuException($"cannot write checkpoint {path}: {e.Message}", e);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    /// <summary>
    /// Deletes the temporary files that writers of <paramref name="full"/> killed mid-write left
    /// behind (name.tmp-PID of a process that is no longer running); they are never read.
    /// </summary>
    private static void RemoveStaleTemporaries(string full)
    {
        string? dir = Path.GetDirectoryName(full);
        if (dir is null)
            return;
        string prefix = Path.GetFileName(full) + ".tmp-";
        try
        {
            foreach (string f in Directory.EnumerateFiles(dir, prefix + "*"))
            {
                if (int.TryParse(Path.GetFileName(f).AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
                    && pid != Environment.ProcessId && !IsRunning(pid))
                    TryDelete(f);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Cleaning up is a courtesy: the checkpoint itself is already whole.
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>The longest JSON header <see cref="Read(string)"/> accepts (100 MB).</summary>
    public const int MaxHeaderBytes = 100_000_000;

    /// <summary>
    /// Reads and verifies a file; a damaged one is an <see cref="InfoGpuException"/> that says how.
    /// The file is read incrementally: the 8-byte length and the header first (checked before
    /// anything else is read), then exactly the tensor bytes the header declares, so a huge,
    /// endless or sparse file that is not a checkpoint costs a few bytes, not its size.
    /// </summary>
    public static TensorSet Read(string path) => Read(path, requireChecksum: true);

    /// <summary>
    /// Reads a file as <see cref="Read(string)"/> does; with <paramref name="requireChecksum"/> false a
    /// safetensors file written by another tool (no InfoGpu checksum) is accepted, its structure
    /// checked in full, and returned with <see cref="TensorSet.Verified"/> false. A file that has a
    /// checksum must still match it.
    /// </summary>
    public static TensorSet Read(string path, bool requireChecksum)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path))
            throw new InfoGpuException($"{path} is a folder, not a checkpoint file; give the model.safetensors in it");
        byte[] bytes;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            var head = new byte[8];
            int got = stream.ReadAtLeast(head, 8, throwOnEndOfStream: false);
            if (got < 8)
                throw new InfoGpuException($"checkpoint {path} is corrupt: truncated ({got} bytes)");
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(head);
            if (headerLength < 2 || headerLength > MaxHeaderBytes)
                throw new InfoGpuException($"checkpoint {path} is not a safetensors file (header length {headerLength})");
            var header = new byte[headerLength];
            got = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
            if (got < header.Length)
                throw new InfoGpuException($"checkpoint {path} is corrupt: truncated (header of {headerLength} bytes, file of {8 + got})");
            long total = 8 + (long)headerLength + DeclaredDataBytes(header);
            if (total > Array.MaxLength)
                throw new InfoGpuException($"checkpoint {path} declares {total:N0} bytes of tensors; at most {Array.MaxLength:N0} can be read");
            if (stream.CanSeek && stream.Length < total)
                throw new InfoGpuException($"checkpoint {path} is corrupt: truncated (its header declares {total} bytes, the file has {stream.Length})");
            bytes = new byte[total];
            head.CopyTo(bytes, 0);
            header.CopyTo(bytes, 8);
            int offset = 8 + header.Length;
            got = stream.ReadAtLeast(bytes.AsSpan(offset), bytes.Length - offset, throwOnEndOfStream: false);
            if (got < bytes.Length - offset)
                throw new InfoGpuException($"checkpoint {path} is corrupt: truncated (its header declares {total} bytes, the file has {offset + got})");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InfoGpuException($"cannot read checkpoint {path}: {e.Message}", e);
        }
        var set = Parse(bytes, path, requireChecksum);
        set.FilePath = path;
        return set;
    }

    /// <summary>The end of the tensor data a header declares (the largest data_offsets end); 0 when the header is unreadable, which <see cref="Parse(ReadOnlySpan{byte}, string)"/> then reports.</summary>
    private static long DeclaredDataBytes(byte[] header)
    {
        try
        {
            using var doc = JsonDocument.Parse(header);
            long end = 0;
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                return 0;
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Name != "__metadata__" && p.Value.ValueKind == JsonValueKind.Object
                    && p.Value.TryGetProperty("data_offsets", out var offs) && offs.ValueKind == JsonValueKind.Array && offs.GetArrayLength() == 2
                    && offs[1].TryGetInt64(out long e) && e > end)
                    end = e;
            }
            return end;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            return 0;
        }
    }

    /// <summary>Parses and verifies safetensors bytes; <paramref name="name"/> names them in errors.</summary>
    public static TensorSet Parse(ReadOnlySpan<byte> bytes, string name) => Parse(bytes, name, requireChecksum: true);

    /// <summary>Parses safetensors bytes; without <paramref name="requireChecksum"/> a file with no InfoGpu checksum is returned unverified (<see cref="TensorSet.Verified"/> false).</summary>
    public static TensorSet Parse(ReadOnlySpan<byte> bytes, string name, bool requireChecksum)
    {
        string Corrupt(string why) => $"checkpoint {name} is corrupt: {why}";
        if (bytes.Length < 8)
            throw new InfoGpuException(Corrupt($"truncated ({bytes.Length} bytes)"));
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLength < 2 || headerLength > 100_000_000)
            throw new InfoGpuException($"checkpoint {name} is not a safetensors file (header length {headerLength})");
        if ((ulong)bytes.Length < 8 + headerLength)
            throw new InfoGpuException(Corrupt($"truncated (header of {headerLength} bytes, file of {bytes.Length})"));
        var data = bytes[(8 + (int)headerLength)..];
        var set = new TensorSet { Source = $"checkpoint {name}" };
        var ranges = new List<(string Name, long Start, long End)>();
        try
        {
            using var doc = JsonDocument.Parse(bytes.Slice(8, (int)headerLength).ToArray());
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new InfoGpuException($"checkpoint {name} is not a safetensors file (header is not a JSON object)");
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Name == "__metadata__")
                {
                    foreach (var m in p.Value.EnumerateObject())
                        set.Metadata[m.Name] = m.Value.GetString() ?? throw new InfoGpuException(Corrupt($"metadata '{m.Name}' is not a string"));
                    continue;
                }
                string dtype = p.Value.GetProperty("dtype").GetString() ?? "";
                if (!ElementSizes.TryGetValue(dtype, out int size))
                    throw new InfoGpuException(Corrupt($"tensor '{p.Name}' has unknown dtype '{dtype}'"));
                var shape = p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                var offs = p.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                if (offs.Length != 2 || offs[0] < 0 || offs[1] < offs[0] || shape.Any(d => d < 0))
                    throw new InfoGpuException(Corrupt($"tensor '{p.Name}' has invalid offsets or shape"));
                long count = 1;
                foreach (long d in shape)
                    count = d == 0 ? 0 : (count > long.MaxValue / Math.Max(1, d) ? -1 : count * d);
                if (count < 0 || count * size != offs[1] - offs[0])
                    throw new InfoGpuException(Corrupt($"tensor '{p.Name}' shape [{string.Join(", ", shape)}] does not match its {offs[1] - offs[0]} bytes"));
                if (offs[1] > data.Length)
                    throw new InfoGpuException(Corrupt($"truncated (tensor '{p.Name}' ends at byte {offs[1]} of {data.Length})"));
                ranges.Add((p.Name, offs[0], offs[1]));
                set.Add(p.Name, new Tensor(dtype, shape, data[(int)offs[0]..(int)offs[1]].ToArray()));
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException or ArgumentException or DecoderFallbackException)
        {
            throw new InfoGpuException(Corrupt($"unreadable header ({e.GetType().Name})"), e);
        }
        if (!set.Metadata.TryGetValue(ChecksumKey, out var expected))
        {
            if (!requireChecksum)
            {
                set.Verified = false;
                return set;
            }
            throw new InfoGpuException($"checkpoint {name} has no checksum; it was not written by InfoGpu");
        }
        var names = set.Tensors.Keys.OrderBy(n => n, StringComparer.Ordinal).ToList();
        var meta = set.Metadata.Where(kv => kv.Key != ChecksumKey).OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        if (Checksum(names.Select(n => (n, set.Tensors[n])), meta) != expected)
            throw new InfoGpuException(Corrupt("checksum mismatch"));
        set.Metadata.Remove(ChecksumKey);
        return set;
    }

    /// <summary>SHA-256 over the metadata, then each tensor's name, dtype, shape and bytes, in name order.</summary>
    private static string Checksum(IEnumerable<(string Name, Tensor Tensor)> tensors, IEnumerable<KeyValuePair<string, string>> metadata)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (k, v) in metadata)
            h.AppendData(Encoding.UTF8.GetBytes($"{k}\u0000{v}\u0000"));
        foreach (var (n, t) in tensors)
        {
            h.AppendData(Encoding.UTF8.GetBytes($"{n}\u0000{t.DType}\u0000{string.Join(",", t.Shape)}\u0000"));
            h.AppendData(t.Data);
        }
        return Convert.ToHexStringLower(h.GetHashAndReset());
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
