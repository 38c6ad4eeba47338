using System.Globalization;
using System.IO.Compression;
using System.Text;
using InfoGpu.Data;
using InfoGpu.Tests.Console;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Data;

/// <summary>The streaming CSV reader: quoting, delimiters, gzip, exact numbers, line numbers in errors, size caps.</summary>
public class CsvTableTests
{
    private static CsvTable FromText(string text, CsvOptions? options = null) =>
        CsvTable.Read(new MemoryStream(Encoding.UTF8.GetBytes(text)), "t.csv", options);

    private static string Write(string name, string text)
    {
        string path = Path.Combine(TestPaths.TempDir(), name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void QuotedFieldsKeepTheirDelimitersAndEscapedQuotes()
    {
        var t = FromText("name,\"x, y\",z\n\"a, b\",1,2\n\"say \"\"hi\"\"\", 3 ,\"4\"\n");
        Assert.Equal(["name", "x, y", "z"], t.Header!);
        Assert.Equal(2, t.RowCount);
        Assert.Equal("a, b", t.Text(0, 0));
        Assert.Equal("say \"hi\"", t.Text(1, 0));
        Assert.Equal(3.0, t.Number(1, 1));
        Assert.Equal(4.0, t.Number(1, 2));
        Assert.Equal([0, 1], t.Categories(0));
        var e = Assert.Throws<InfoGpuException>(() => t.Number(0, 0));
        Assert.Contains("t.csv line 2, column 1", e.Message);
    }

    [Theory]
    [InlineData("a;b;c\n1;2;3\n4;5;6\n")]
    [InlineData("a\tb\tc\n1\t2\t3\n4\t5\t6\n")]
    [InlineData("# a comment, with; delimiters\n\na,b,c\n1,2,3\n4,5,6\n")]
    public void TheDelimiterIsDetected(string text)
    {
        var t = FromText(text);
        Assert.Equal(["a", "b", "c"], t.Header!);
        Assert.Equal([1.0, 2, 3, 4, 5, 6], t.ToMatrix64());
    }

    [Fact]
    public void AGivenDelimiterWins()
    {
        var t = FromText("a|b\n1,5|2\n", new CsvOptions(Delimiter: '|'));
        Assert.Equal(["a", "b"], t.Header!);
        Assert.Equal("1,5", t.Text(0, 0));
        Assert.Equal('\t', CsvOptions.ParseDelimiter("tab"));
        Assert.Throws<InfoGpuException>(() => CsvOptions.ParseDelimiter("."));
    }

    [Fact]
    public void NumbersRoundTripExactly()
    {
        var rng = new System.Random(5);
        var expected = new double[2000 * 7];
        var sb = new StringBuilder("c0,c1,c2,c3,c4,c5,c6\n");
        for (int r = 0; r < 2000; r++)
        {
            for (int c = 0; c < 7; c++)
            {
                double v = (rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-12, 12));
                expected[r * 7 + c] = v;
                sb.Append(v.ToString("R", CultureInfo.InvariantCulture)).Append(c < 6 ? ',' : '\n');
            }
        }
        Assert.Equal(expected, FromText(sb.ToString()).ToMatrix64());
    }

    [Theory]
    [InlineData("1,5")]
    [InlineData("12abc")]
    [InlineData("1 2")]
    [InlineData("0x10")]
    [InlineData("1e")]
    [InlineData("+.5")]
    [InlineData("5.")]
    [InlineData("1e400")]
    [InlineData("inf")]
    [InlineData("NaN")]
    [InlineData("1.5e-3")]
    [InlineData("1_0")]
    [InlineData("1.2.3")]
    [InlineData(" 7 ")]
    [InlineData("-0")]
    public void AFieldIsANumberExactlyWhenDoubleParseReadsAFiniteOne(string cell)
    {
        var t = FromText(cell + "\n", new CsvOptions(Delimiter: ';', HasHeader: false));
        bool expected = double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v);
        if (expected)
            Assert.Equal(v, t.Number(0, 0));
        else
            Assert.Throws<InfoGpuException>(() => t.Number(0, 0));
    }

    [Fact]
    public void GzipFilesAreReadAsTheyAre()
    {
        var table = CsvTable.Read(TestPaths.Data("make-classification", "make_classification_1000x20.csv.gz"));
        Assert.Equal(1000, table.RowCount);
        Assert.Equal(21, table.Columns);
        var plain = CsvTable.Read(TestPaths.MakeClassificationCsv);
        Assert.Equal(plain.ToMatrix64(), table.ToMatrix64());
        Assert.Equal(plain.Header, table.Header);
    }

    [Fact]
    public void RaggedRowsNameTheirLineAfterCommentsAndBlankLines()
    {
        var e = Assert.Throws<InfoGpuException>(() => FromText("# c\n\nx,y\n1,2\n\n3,4,5\n"));
        Assert.StartsWith("t.csv line 6: 3 fields where the file has 2", e.Message);
    }

    [Fact]
    public void BinaryInputIsRefusedAtTheFirstNul()
    {
        var bytes = new byte[1 << 20];
        new System.Random(3).NextBytes(bytes);
        bytes[100] = 0;
        var e = Assert.Throws<InfoGpuException>(() => CsvTable.Read(new MemoryStream(bytes), "noise.bin"));
        Assert.Contains("binary", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void ALineOverTheLimitIsAnErrorBeforeItIsHeld()
    {
        string text = "a,b\n1,2\n" + new string('7', 5000) + ",1\n";
        var e = Assert.Throws<InfoGpuException>(() => FromText(text, new CsvOptions(MaxLineLength: 1000)));
        Assert.Equal("t.csv line 3: longer than 1000 characters; is this a CSV file?", e.Message);
        // A quoted line break does not end the line for the limit.
        e = Assert.Throws<InfoGpuException>(() => FromText("a\n\"" + string.Concat(Enumerable.Repeat("xxxxxxxxx\n", 200)) + "\"\n", new CsvOptions(MaxLineLength: 1000)));
        Assert.Contains("longer than 1000", e.Message);
    }

    [Fact]
    public void TooManyFieldsIsAnErrorBeforeTheMemoryIsTaken()
    {
        var e = Assert.Throws<InfoGpuException>(() => FromText("a,b,c\n1,2,3\n4,5,6\n7,8,9\n10,11,12\n", new CsvOptions(MaxValues: 10)));
        Assert.StartsWith("t.csv line 5: more than 10 fields", e.Message);
    }

    [SkippableFact]
    public void RandomBytesFromTheConsoleAreOneLineErrors()
    {
        Skip.IfNot(File.Exists("/dev/urandom"));
        var (code, output, err) = ConsoleRunner.Run("mi", "select", "--csv", "/dev/urandom", "--target-last", "--accelerator", "cpu");
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Single(err.Trim().Split('\n'));
        Assert.StartsWith("error: /dev/urandom", err);
    }

    [Fact]
    public void MiSelectReadsGzipAndSemicolonsAndGivenDelimiters()
    {
        var (code, output, err) = ConsoleRunner.Run("mi", "select", "--csv", TestPaths.Data("make-classification", "make_classification_1000x20.csv.gz"), "--target-last", "--json", "--accelerator", "cpu");
        Assert.True(code == 0, err);
        Assert.Contains("\"selected\": [\n    13,\n    8,\n    11,\n    5,\n    9\n  ]", output.Replace("\r", ""));

        string semi = Write("semi.csv", "x;z;t\n1,5;0;1\n2,5;1;0\n3,5;0;1\n4,5;1;0\n5,5;0;1\n6,5;1;0\n");
        (code, output, err) = ConsoleRunner.Run("mi", "select", "--csv", semi, "--target", "t", "--delimiter", "semicolon", "--neighbors", "1", "--accelerator", "cpu");
        Assert.Equal(1, code);
        Assert.Contains("line 2, column 1: '1,5' is not a number", err);

        string pipes = Write("pipes.csv", "x|z|t\n1|0|1\n2|1|0\n3|0|1\n4|1|0\n5|0|1\n6|1|0\n");
        (code, _, err) = ConsoleRunner.Run("mi", "select", "--csv", pipes, "--target", "t", "--delimiter", "|", "--neighbors", "1", "--accelerator", "cpu");
        Assert.True(code == 0, err);
        (code, _, err) = ConsoleRunner.Run("mi", "select", "--csv", pipes, "--target", "t", "--delimiter", "7", "--accelerator", "cpu");
        Assert.Equal(2, code);
        Assert.StartsWith("error: --delimiter '7'", err);
    }

    [Fact]
    public void TextColumnsAreCategoriesWhenListedInDiscrete()
    {
        var rows = new StringBuilder("colour,size,label\n");
        string[] colours = ["red", "green", "\"blue, dark\""];
        for (int i = 0; i < 60; i++)
            rows.Append(colours[i % 3]).Append(',').Append((i * 7 % 11).ToString(CultureInfo.InvariantCulture)).Append(',').Append(i % 3 == 0 ? "yes" : "no").Append('\n');
        string csv = Write("cats.csv", rows.ToString());
        var (code, output, err) = ConsoleRunner.Run("mi", "select", "--csv", csv, "--target", "label", "--discrete", "colour", "--json", "--accelerator", "cpu");
        Assert.True(code == 0, err);
        var json = System.Text.Json.Nodes.JsonNode.Parse(output)!;
        Assert.True(json["discrete"]![0]!.GetValue<bool>());
        // colour decides the label exactly: its MI is the entropy of the label, H(1/3, 2/3) nats.
        double h = -(1.0 / 3 * Math.Log(1.0 / 3) + 2.0 / 3 * Math.Log(2.0 / 3));
        Assert.Equal(h, json["scores"]![0]!.GetValue<double>(), 9);
        Assert.Equal(0, json["selected"]![0]!.GetValue<int>());

        (code, _, err) = ConsoleRunner.Run("mi", "select", "--csv", csv, "--target", "label", "--accelerator", "cpu");
        Assert.Equal(1, code);
        Assert.Contains("line 2, column 1: 'red' is not a number", err);
    }

    [Theory]
    [InlineData("1,x\n2,3\n", 1)]
    [InlineData("\n1,x\n2,3\n", 2)]
    [InlineData("# note\n1,2\n\n3,x\n", 4)]
    [InlineData("1,2\n\"a\nb\",x\n", 2)]
    public void ErrorsNameTheLineTheRowStartsOn(string text, int line)
    {
        var t = CsvTable.Read(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)), "t.csv", new CsvOptions(HasHeader: false));
        int row = t.RowCount - 1;
        if (t.HasText(1) && t.Text(0, 1) == "x")
            row = 0;
        var e = Assert.Throws<InfoGpuException>(() => t.Number(row, 1));
        Assert.Contains($"t.csv line {line}, column 2", e.Message);
    }
}
