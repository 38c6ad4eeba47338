using System.Text;

namespace InfoGpu.Tests.Reliability;

/// <summary>Seeded mutations of valid inputs: byte flips, insertions, deletions, truncation, spliced tokens.</summary>
internal sealed class Mutator(int seed)
{
    private static readonly string[] Tokens = ["NaN", "nan", "inf", "-Infinity", "1e999", "-1e999", ",", ",,", ";", "\n", "\r\n", "\"", "x", "-", ".", "0x10", " ", "\0", "9999999999999999999999", "-0", "1e-400", "\u00e9", "#"];

    private readonly System.Random rng = new(seed);

    public byte[] Mutate(byte[] input)
    {
        var data = new List<byte>(input);
        int edits = 1 + rng.Next(4);
        for (int e = 0; e < edits; e++)
        {
            switch (rng.Next(6))
            {
                case 0 when data.Count > 0:
                    data[rng.Next(data.Count)] ^= (byte)(1 << rng.Next(8));
                    break;
                case 1:
                    data.Insert(rng.Next(data.Count + 1), (byte)rng.Next(256));
                    break;
                case 2 when data.Count > 0:
                    data.RemoveAt(rng.Next(data.Count));
                    break;
                case 3 when data.Count > 0:
                    int from = rng.Next(data.Count);
                    data.RemoveRange(from, 1 + rng.Next(Math.Min(8, data.Count - from)));
                    break;
                case 4:
                    data.InsertRange(rng.Next(data.Count + 1), Encoding.UTF8.GetBytes(Tokens[rng.Next(Tokens.Length)]));
                    break;
                default:
                    int cut = rng.Next(data.Count + 1);
                    data.RemoveRange(cut, data.Count - cut);
                    break;
            }
        }
        return [.. data];
    }

    public string Mutate(string input) => Encoding.UTF8.GetString(Mutate(Encoding.UTF8.GetBytes(input)));
}
