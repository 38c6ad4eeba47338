using System.Globalization;

namespace InfoGpu.Measures;

/// <summary>The base of the logarithm an information measure is expressed in.</summary>
public readonly record struct LogBase
{
    private readonly double _value;

    private LogBase(double value) => _value = value;

    /// <summary>The base itself (2 for bits, e for nats, 10 for bans); <c>default(LogBase)</c> is base e (nats).</summary>
    public double Value => _value == 0 ? Math.E : _value;

    /// <summary>Two bases are equal when their values are (so <c>default(LogBase)</c> equals <see cref="Nats"/>).</summary>
    public bool Equals(LogBase other) => Value.Equals(other.Value);

    /// <inheritdoc/>
    public override int GetHashCode() => Value.GetHashCode();

    /// <summary>Base 2: bits (shannons).</summary>
    public static LogBase Bits { get; } = new(2);

    /// <summary>Base e: nats.</summary>
    public static LogBase Nats { get; } = new(Math.E);

    /// <summary>Base 10: bans (hartleys).</summary>
    public static LogBase Bans { get; } = new(10);

    /// <summary>Any base b &gt; 0, b != 1.</summary>
    public static LogBase Of(double value)
    {
        if (!(value > 0) || value == 1 || double.IsInfinity(value))
            throw new InfoGpuException($"logarithm base {value.ToString(CultureInfo.InvariantCulture)} is invalid: use a finite number > 0 other than 1 (2 for bits, e for nats, 10 for bans)");
        return new LogBase(value);
    }

    /// <summary>Parses "2", "e", "10", "bits", "nats", "bans" or any number.</summary>
    public static LogBase Parse(string text)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "2": case "bits": return Bits;
            case "e": case "nats": return Nats;
            case "10": case "bans": return Bans;
        }
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
            return Of(v);
        throw new InfoGpuException($"logarithm base '{text}' is not a number: use 2, e, 10 or any number > 0 other than 1");
    }

    /// <summary>Multiplier that turns nats into this base: 1 / ln(base).</summary>
    public double Scale => Value == Math.E ? 1.0 : 1.0 / Math.Log(Value);

    /// <summary>Unit name for tables.</summary>
    public string Unit => Value switch
    {
        2 => "bits",
        Math.E => "nats",
        10 => "bans",
        _ => $"log{Value.ToString("R", CultureInfo.InvariantCulture)} units",
    };

    /// <summary>The unit name, as <see cref="Unit"/>: "bits", "nats", "bans" or "log{base} units".</summary>
    public override string ToString() => Unit;
}
