using System.Runtime.InteropServices;

namespace InfoGpu.Checkpoints;

/// <summary>One named tensor of a checkpoint: its safetensors dtype, shape and little-endian bytes.</summary>
public sealed record Tensor(string DType, long[] Shape, byte[] Data);

/// <summary>
/// Named tensors and string metadata, the contents of a safetensors file. Getters check the
/// dtype and say which tensor is missing or has the wrong type.
/// </summary>
public sealed class TensorSet
{
    private readonly Dictionary<string, Tensor> tensors = new(StringComparer.Ordinal);

    /// <summary>Free-form string metadata (config JSON, epoch, ...); "sha256" is reserved for the checksum.</summary>
    public Dictionary<string, string> Metadata { get; } = new(StringComparer.Ordinal);

    /// <summary>Where the set was read from, for error messages ("checkpoint" when built in memory).</summary>
    public string Source { get; init; } = "checkpoint";

    /// <summary>The file the set was read from by <see cref="SafeTensors.Read(string)"/>; null when built in memory or parsed from bytes.</summary>
    public string? FilePath { get; internal set; }

    /// <summary>
    /// Whether the set carried InfoGpu's checksum and matched it. False only for a file written by
    /// another tool and read with <see cref="SafeTensors.Read(string, bool)"/> allowing that: its
    /// bytes are intact as far as the format can tell, but nothing vouches for their content.
    /// </summary>
    public bool Verified { get; internal set; } = true;

    /// <summary>Copies every entry of <paramref name="metadata"/> into <see cref="Metadata"/> (replacing equal keys); null adds nothing.</summary>
    public void AddMetadata(IReadOnlyDictionary<string, string>? metadata)
    {
        if (metadata is null)
            return;
        foreach (var (k, v) in metadata)
            Metadata[k] = v;
    }

    /// <summary>Checks that the "format" metadata is <paramref name="format"/>, the mark a trainer's checkpoints carry.</summary>
    /// <param name="format">The expected format name.</param>
    /// <param name="path">The file, for the message.</param>
    /// <param name="what">What such a checkpoint is, with its article ("an RBM").</param>
    /// <param name="writer">The command that writes them ("infogpu rbm train").</param>
    /// <exception cref="InfoGpuException">The format is missing or another one; the message names the file and both formats.</exception>
    internal void RequireFormat(string format, string path, string what, string writer)
    {
        if (!Metadata.TryGetValue("format", out var f) || f != format)
            throw new InfoGpuException($"{path} is not {what} checkpoint written by '{writer}' (format '{f ?? "none"}', expected '{format}')");
    }

    /// <summary>The trainer settings stored as JSON in the "config" metadata.</summary>
    /// <typeparam name="T">The settings record.</typeparam>
    /// <param name="options">How the settings were serialized.</param>
    /// <exception cref="InfoGpuException">The config is missing, empty or not valid JSON for <typeparamref name="T"/>; the message names the file.</exception>
    public T GetConfig<T>(System.Text.Json.JsonSerializerOptions options)
        where T : class
    {
        string json = GetMetadata("config");
        try
        {
            return System.Text.Json.JsonSerializer.Deserialize<T>(json, options)
                ?? throw new InfoGpuException($"{Source}: empty config");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InfoGpuException($"{Source}: the config in its metadata is not valid: {e.Message.Split('\n')[0]}");
        }
    }

    /// <summary>The tensors by name (ordinal, case-sensitive names).</summary>
    public IReadOnlyDictionary<string, Tensor> Tensors => tensors;

    /// <summary>True when the set holds a tensor named <paramref name="name"/> (ordinal comparison).</summary>
    public bool Contains(string name) => tensors.ContainsKey(name);

    /// <summary>Adds <paramref name="tensor"/> under <paramref name="name"/>, replacing a tensor of that name.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> or <paramref name="tensor"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or <c>__metadata__</c>, which the format reserves.</exception>
    public void Add(string name, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(tensor);
        if (name.Length == 0 || name == "__metadata__")
            throw new ArgumentException($"'{name}' cannot name a tensor", nameof(name));
        tensors[name] = tensor;
    }

    /// <summary>Adds (or replaces) a F32 tensor: a little-endian copy of <paramref name="values"/> (float32) with the given shape.</summary>
    /// <param name="name">Tensor name; not empty and not <c>__metadata__</c>.</param>
    /// <param name="values">The elements, row-major (last dimension fastest).</param>
    /// <param name="shape">The dimensions; none means one dimension of <c>values.Length</c>.</param>
    /// <exception cref="ArgumentException">The product of <paramref name="shape"/> is not <c>values.Length</c>, or the name is invalid.</exception>
    public void Add(string name, float[] values, params int[] shape) => Add(name, Pack("F32", values, shape));

    /// <summary>Adds (or replaces) a F64 tensor: a little-endian copy of <paramref name="values"/> (float64) with the given shape.</summary>
    /// <param name="name">Tensor name; not empty and not <c>__metadata__</c>.</param>
    /// <param name="values">The elements, row-major (last dimension fastest).</param>
    /// <param name="shape">The dimensions; none means one dimension of <c>values.Length</c>.</param>
    /// <exception cref="ArgumentException">The product of <paramref name="shape"/> is not <c>values.Length</c>, or the name is invalid.</exception>
    public void Add(string name, double[] values, params int[] shape) => Add(name, Pack("F64", values, shape));

    /// <summary>Adds (or replaces) a I32 tensor: a little-endian copy of <paramref name="values"/> (int32) with the given shape.</summary>
    /// <param name="name">Tensor name; not empty and not <c>__metadata__</c>.</param>
    /// <param name="values">The elements, row-major (last dimension fastest).</param>
    /// <param name="shape">The dimensions; none means one dimension of <c>values.Length</c>.</param>
    /// <exception cref="ArgumentException">The product of <paramref name="shape"/> is not <c>values.Length</c>, or the name is invalid.</exception>
    public void Add(string name, int[] values, params int[] shape) => Add(name, Pack("I32", values, shape));

    /// <summary>Adds (or replaces) a I64 tensor: a little-endian copy of <paramref name="values"/> (int64) with the given shape.</summary>
    /// <param name="name">Tensor name; not empty and not <c>__metadata__</c>.</param>
    /// <param name="values">The elements, row-major (last dimension fastest).</param>
    /// <param name="shape">The dimensions; none means one dimension of <c>values.Length</c>.</param>
    /// <exception cref="ArgumentException">The product of <paramref name="shape"/> is not <c>values.Length</c>, or the name is invalid.</exception>
    public void Add(string name, long[] values, params int[] shape) => Add(name, Pack("I64", values, shape));

    /// <summary>The elements of the F32 tensor <paramref name="name"/> as a new flat array, row-major in its shape.</summary>
    /// <exception cref="InfoGpuException">The set has no tensor of that name, or its dtype is not F32; the message names the source and the tensor.</exception>
    public float[] GetFloat(string name) => Unpack<float>(name, "F32");

    /// <summary>The elements of the F64 tensor <paramref name="name"/> as a new flat array, row-major in its shape.</summary>
    /// <exception cref="InfoGpuException">The set has no tensor of that name, or its dtype is not F64; the message names the source and the tensor.</exception>
    public double[] GetDouble(string name) => Unpack<double>(name, "F64");

    /// <summary>The elements of the I32 tensor <paramref name="name"/> as a new flat array, row-major in its shape.</summary>
    /// <exception cref="InfoGpuException">The set has no tensor of that name, or its dtype is not I32; the message names the source and the tensor.</exception>
    public int[] GetInt32(string name) => Unpack<int>(name, "I32");

    /// <summary>The elements of the I64 tensor <paramref name="name"/> as a new flat array, row-major in its shape.</summary>
    /// <exception cref="InfoGpuException">The set has no tensor of that name, or its dtype is not I64; the message names the source and the tensor.</exception>
    public long[] GetInt64(string name) => Unpack<long>(name, "I64");

    /// <summary>Throws <see cref="InfoGpuException"/> naming <paramref name="source"/>, the tensor and the index of its first NaN or infinite value.</summary>
    internal static void RequireFinite<T>(ReadOnlySpan<T> values, string tensor, string source)
        where T : System.Numerics.IFloatingPointIeee754<T>
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!T.IsFinite(values[i]))
                throw new InfoGpuException($"{source}: tensor '{tensor}' holds {values[i]} at index {i}; a model with NaN or infinite parameters cannot be used (it diverged: retrain with a lower learning rate)");
        }
    }

    /// <summary>The metadata value, or an error naming the key.</summary>
    public string GetMetadata(string key) =>
        Metadata.TryGetValue(key, out var v) ? v : throw new InfoGpuException($"{Source} has no '{key}' entry in its metadata; it was not written by this version of InfoGpu");

    private static Tensor Pack<T>(string dtype, T[] values, int[] shape)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(values);
        long[] dims = shape.Length == 0 ? [values.LongLength] : shape.Select(d => (long)d).ToArray();
        long count = dims.Aggregate(1L, (a, b) => a * b);
        if (count != values.LongLength)
            throw new ArgumentException($"shape [{string.Join(", ", dims)}] holds {count} values, not {values.LongLength}", nameof(shape));
        var bytes = MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("checkpoints are little-endian");
        return new Tensor(dtype, dims, bytes);
    }

    private T[] Unpack<T>(string name, string dtype)
        where T : unmanaged
    {
        if (!tensors.TryGetValue(name, out var t))
            throw new InfoGpuException($"{Source} has no tensor '{name}'; it was not written by this model or version");
        if (t.DType != dtype)
            throw new InfoGpuException($"{Source}: tensor '{name}' is {t.DType}, expected {dtype}");
        return MemoryMarshal.Cast<byte, T>(t.Data).ToArray();
    }
}
