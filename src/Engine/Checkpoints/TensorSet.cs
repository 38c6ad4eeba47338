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

    public IReadOnlyDictionary<string, Tensor> Tensors => tensors;

    public bool Contains(string name) => tensors.ContainsKey(name);

    public void Add(string name, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(tensor);
        if (name.Length == 0 || name == "__metadata__")
            throw new ArgumentException($"'{name}' cannot name a tensor", nameof(name));
        tensors[name] = tensor;
    }

    public void Add(string name, float[] values, params int[] shape) => Add(name, Pack("F32", values, shape));

    public void Add(string name, double[] values, params int[] shape) => Add(name, Pack("F64", values, shape));

    public void Add(string name, int[] values, params int[] shape) => Add(name, Pack("I32", values, shape));

    public void Add(string name, long[] values, params int[] shape) => Add(name, Pack("I64", values, shape));

    public float[] GetFloat(string name) => Unpack<float>(name, "F32");

    public double[] GetDouble(string name) => Unpack<double>(name, "F64");

    public int[] GetInt32(string name) => Unpack<int>(name, "I32");

    public long[] GetInt64(string name) => Unpack<long>(name, "I64");

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
